"""Reads records back from a Kafka cluster with kafka-python, for interop tests.

Usage: kafka_python_consume.py BOOTSTRAP TOPIC PARTITIONS COUNT

Assigns partitions 0..PARTITIONS-1 of TOPIC (no consumer group), reads from the beginning
until COUNT records arrived, and prints each as one JSON object per line: partition, offset,
timestamp, key and value (hex, or null) and headers ([key, hex value or null] pairs). Exits 1
when fewer than COUNT records arrive within 30 seconds.
"""
import json
import sys

from kafka import KafkaConsumer, TopicPartition


def hexify(b):
    return None if b is None else b.hex()


def main():
    bootstrap, topic, partitions, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        client_id="gregor-interop",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=30000,
    )
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    consumer.seek_to_beginning()
    n = 0
    for m in consumer:
        print(json.dumps({
            "partition": m.partition,
            "offset": m.offset,
            "timestamp": m.timestamp,
            "key": hexify(m.key),
            "value": hexify(m.value),
            "headers": [[k, hexify(v)] for k, v in (m.headers or [])],
        }), flush=True)
        n += 1
        if n >= count:
            break
    consumer.close()
    if n < count:
        print("read %d of %d records" % (n, count), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
