// Package kafkatest runs an in-memory Kafka cluster for tests, the way net/http/httptest
// runs an HTTP server: [NewCluster] starts a few brokers on loopback ports, each a real TCP
// listener speaking the Kafka protocol, and a client under test connects to [Cluster.Addrs]
// like to any cluster. The test then reads back what was produced with [Cluster.Records] or
// [Cluster.WaitForRecords], and can script failures: error codes, delays, swallowed answers
// and dropped connections ([Cluster.InjectFault]), brokers going down
// ([Cluster.StopBroker]) or coming back at a new address ([Cluster.StartBrokerAt]), and
// partition leaders moving ([Cluster.MoveLeader]).
//
// Topics can gain partitions ([Cluster.CreatePartitions]) and be deleted and created again
// under a new topic id ([Cluster.DeleteTopic]); the records of a deleted topic stay readable
// by its id ([Cluster.RecordsByTopicID]).
//
// The brokers answer ApiVersions, Metadata, Produce (v3–13), Fetch (v4–18), ListOffsets
// (v1–11), InitProducerId and the transaction APIs FindCoordinator, AddPartitionsToTxn,
// AddOffsetsToTxn, TxnOffsetCommit and EndTxn, and check produced batches as strictly as a Kafka 4 broker or more: every batch is checked for length, magic,
// CRC-32C and counts, decompressed and parsed record by record, and idempotent producers'
// sequences are checked and deduplicated as Kafka does. Each problem gets the error code
// Kafka would answer, so a client that passes here behaves on a real cluster. Any other
// request closes the connection, as does anything a broker cannot parse; nothing a client
// sends can panic the cluster or disturb other connections.
//
// The cluster is a transaction coordinator, placing each transactional id on a broker
// ([Cluster.TransactionCoordinator]): InitProducerId fences older producers of the id and
// aborts their transaction, partitions join a transaction through AddPartitionsToTxn or,
// with transactions V2 (KIP-890, on by default, see [TransactionsV2]), through a Produce
// v12+, and EndTxn writes commit or abort markers to every partition of the transaction
// before it answers, or, with a [MarkerDelay], after it, as Kafka does (meanwhile what
// would change the transactional id gets CONCURRENT_TRANSACTIONS). A transaction that outlives its timeout is aborted. [Cluster.Records]
// tells committed, aborted and open transactional records apart, and
// [Cluster.CommittedRecords] returns what a read_committed consumer would see.
//
// The cluster is also a consumer group coordinator for offsets committed in transactions
// (consume-transform-produce, KIP-98 and KIP-447): AddOffsetsToTxn adds a group to a
// transaction (or, with transactions V2, TxnOffsetCommit v5+ does), TxnOffsetCommit stages
// the group's offsets, and they become visible in [Cluster.CommittedOffsets] when the
// transaction commits, never when it aborts. [Cluster.SetGroupMembers] stands in for a
// rebalance, so that the consumer's generation and member id are checked (KIP-447).
//
// Consumers read the records back: Fetch serves the stored batches (uncompressed) from any
// offset with the high watermark, the last stable offset and, for read_committed, the aborted
// transactions; it waits for MinBytes up to MaxWaitMs. ListOffsets finds the earliest and
// latest offsets and offsets by time. So franz-go's consumer, kcat (librdkafka) and
// kafka-python read what a producer wrote. Consumer groups and fetch sessions are not
// implemented: consumers assign partitions themselves and fetch without a session.
//
// Records are kept in memory, uncompressed, for the life of the Cluster, unless
// [RetainRecords] or [RetainBytes] bounds each partition, dropping its oldest batches. There
// is no replication.
//
// Listeners can require TLS ([TLS], with certificates from a [TestCA]) and SASL ([SASL] with
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER, users from [User], tokens checked by
// [OAuthValidator]), and give sessions a lifetime for re-authentication tests
// ([SessionLifetime], KIP-368).
package kafkatest
