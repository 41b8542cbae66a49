package producer_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

// A consume-transform-produce service commits the offsets it consumed in the transaction of
// the records it produced from them: both happen, or neither does, so a restart resumes
// exactly after the last committed transaction (exactly-once).
func ExampleProducer_SendOffsetsToTransaction() {
	c := startCluster("shouts", 1)
	defer c.Close()
	// In a real service the consumer's rebalance does this; here it stands in for it.
	c.SetGroupMembers("shouters", 3, kafkatest.GroupMember{MemberID: "consumer-1"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs(), TransactionalID: "shouter-0"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.InitTransactions(ctx); err != nil {
		log.Fatal(err)
	}

	// What the consumer of group "shouters" polled from partition 0 of "words", and its
	// group metadata (generation and member id, from the consumer).
	consumed := []struct {
		offset int64
		value  string
	}{{40, "hello"}, {41, "world"}}
	group := producer.ConsumerGroupMetadata{GroupID: "shouters", GenerationID: 3, MemberID: "consumer-1"}

	if err := p.BeginTransaction(); err != nil {
		log.Fatal(err)
	}
	for _, r := range consumed {
		p.SendAsync(ctx, producer.Record{Topic: "shouts", Value: []byte(strings.ToUpper(r.value))}, nil)
	}
	next := consumed[len(consumed)-1].offset + 1
	offsets := map[string]map[int32]producer.Offset{"words": {0: {Offset: next}}}
	if err := p.SendOffsetsToTransaction(ctx, offsets, group); err != nil {
		_ = p.AbortTransaction(ctx) // the records are dropped too; consume again from the last commit
		log.Fatal(err)
	}
	if err := p.CommitTransaction(ctx); err != nil {
		_ = p.AbortTransaction(ctx)
		log.Fatal(err)
	}

	fmt.Println("group shouters resumes words-0 at", c.CommittedOffsets("shouters")["words"][0].Offset)
	for _, r := range c.CommittedRecords("shouts", 0) {
		fmt.Println(string(r.Value))
	}
	// Output:
	// group shouters resumes words-0 at 42
	// HELLO
	// WORLD
}
