package main

import (
	"context"
	"fmt"
	"github.com/gregor-kafka/producer/internal/testutil"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
)

func TestBroker(t *testing.T) {
	testutil.CheckNoLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, stdout, stderr := testEnv(nil)
	code := make(chan int, 1)
	go func() {
		code <- e.run(ctx, []string{"broker", "--ports", "0,0", "--partitions", "2", "--topic", "seeded:4", "--topic", "one:1", "-v"})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasSuffix(stdout.String(), "\n") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	addrs := strings.Split(strings.TrimSpace(stdout.String()), ",")
	if len(addrs) != 2 {
		t.Fatalf("bootstrap line %q: want 2 addresses", stdout)
	}
	for _, a := range addrs {
		if host, _, err := net.SplitHostPort(a); err != nil || host != "127.0.0.1" {
			t.Fatalf("address %q", a)
		}
	}

	// A producer sees the cluster the flags describe.
	p, err := producer.New(producer.Config{BootstrapServers: addrs})
	if err != nil {
		t.Fatal(err)
	}
	sendCtx := ctxTimeout(t, 10*time.Second)
	for i := range 3 {
		md, err := p.Send(sendCtx, producer.Record{Topic: "auto", Partition: producer.ToPartition(int32(i % 2)), Value: []byte("v")}).Get(sendCtx)
		if err != nil {
			t.Fatal(err)
		}
		if md.Partition != int32(i%2) {
			t.Fatalf("metadata %+v", md)
		}
	}
	if err := p.Send(sendCtx, producer.Record{Topic: "seeded", Partition: producer.ToPartition(3), Value: []byte("v")}).Wait(sendCtx); err != nil {
		t.Fatal(err)
	}
	// Partition 2 of an auto-created topic does not exist with --partitions 2.
	if err := p.Send(sendCtx, producer.Record{Topic: "auto", Partition: producer.ToPartition(2)}).Wait(sendCtx); err == nil {
		t.Error("partition 2 of a 2-partition topic accepted")
	}
	p.Close(sendCtx)
	// A frame no broker can parse closes the connection, which -v logs.
	nc, err := net.Dial("tcp", addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte{0, 0, 0, 2, 0xff, 0xff})
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Error("the broker answered a garbage frame")
	}
	nc.Close()

	cancel()
	select {
	case got := <-code:
		if got != 0 {
			t.Errorf("exit %d", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("broker did not stop")
	}
	s := stderr.String()
	for _, want := range []string{
		"gregor broker: 2 brokers up:\n  node 0 at " + addrs[0] + "\n  node 1 at " + addrs[1] + "\n",
		"topics are created on first use with 2 partitions",
		"gregor broker: stopped\n",
		"  topic auto: 3 records in 2 partitions\n",
		"  topic one: 0 records in 1 partition\n",
		"  topic seeded: 1 record in 4 partitions\n",
		`msg="kafkatest: closing connection" broker=0`, // -v
	} {
		if !strings.Contains(s, want) {
			t.Errorf("stderr lacks %q:\n%s", want, s)
		}
	}
}

func TestBrokerPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	r := runCmd(t, "", "broker", "--ports", "0,"+port)
	if r.code != exitFailed || !strings.Contains(r.stderr, "address already in use") || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestBrokerPorts(t *testing.T) {
	for _, tc := range []struct {
		brokers    int
		list       string
		brokersSet bool
		want       string
	}{
		{3, "", false, "[9092 9093 9094]"},
		{1, "", true, "[9092]"},
		{3, "19092, 0", false, "[19092 0]"},
		{2, "1,2", true, "[1 2]"},
		{3, "1,2", true, "error: --brokers 3 but 2 --ports"},
		{3, "1,,2", false, `error: --ports: "" is not a port number`},
		{101, "", true, "error: --brokers 101: want 1 to 100"},
	} {
		o := brokerOpts{brokers: tc.brokers, portList: tc.list}
		ports, err := o.ports(tc.brokersSet)
		got := fmt.Sprint(ports)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("--brokers %d --ports %q: %s, want %s", tc.brokers, tc.list, got, tc.want)
		}
	}
}
