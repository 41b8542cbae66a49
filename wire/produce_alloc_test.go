//go:build !race

package wire

import "testing"

// The race detector's instrumentation allocates, so these run only without it.

func TestProduceRequestAppendAllocs(t *testing.T) {
	q := benchProduceRequest()
	q.TransactionalID = strp("txn")
	for _, v := range versionsOf(t, KeyProduce) {
		dst := q.AppendTo(nil, v)
		if n := testing.AllocsPerRun(50, func() { dst = q.AppendTo(dst[:0], v) }); n != 0 {
			t.Errorf("v%d: AppendTo into a reused buffer allocates %.1f times", v, n)
		}
	}
}

func TestProduceResponseDecodeAllocs(t *testing.T) {
	for _, v := range versionsOf(t, KeyProduce) {
		body := benchProduceResponse().AppendTo(nil, v)
		var p ProduceResponse
		if err := p.Decode(body, v); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(50, func() { _ = p.Decode(body, v) }); n != 0 {
			t.Errorf("v%d: steady-state Decode allocates %.1f times", v, n)
		}
	}
}
