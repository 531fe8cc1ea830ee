package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// slowInputs writes fast records (keys k0..) and one record whose
// execution sleeps slowMs (key "slow") to "in".
func slowInputs(t *testing.T, addrs []string, fast, slowMs int) {
	t.Helper()
	var rs []*kgo.Record
	for i := range fast {
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	rs = append(rs, &kgo.Record{Topic: "in", Key: []byte("slow"), Value: []byte(fmt.Sprintf(`{"i":"slow","sleepMs":%d}`, slowMs))})
	produceAll(t, newClient(t, addrs), rs)
}

// TestExactlyOnceSlowRecord: an execution longer than the drain timeout
// is committed, exactly once: the transactions shrink to one record and
// that one waits for its execution (up to its time limit), instead of
// aborting and running it again for ever.
func TestExactlyOnceSlowRecord(t *testing.T) {
	for _, parts := range []int32{1, 3} {
		t.Run(fmt.Sprintf("%d partitions", parts), func(t *testing.T) {
			const fast = 20
			c := startTxnCluster(t, 1, parts, "in", "out", "dlq")
			addrs := c.ListenAddrs()
			slowInputs(t, addrs, fast, 1500)
			p := newEOS(t, addrs, nil, func(o *Options) { o.DrainTimeout = 300 * time.Millisecond })
			stop := runProcessor(t, p)
			waitFor(t, 30*time.Second, "every offset committed", func() bool { return committedTotal(t, addrs, "eos") == fast+1 })
			stop()
			if p.Stats().TxnAborts.Load() == 0 {
				t.Error("no transaction aborted: the test does not exercise the drain timeout")
			}
			checkOnce(t, readCommitted(t, addrs, parts, "out", "dlq"), fast+1)
		})
	}
}

// TestExactlyOnceShutdownSlow stops an exactly-once processor while its
// transaction of one record waits for an execution longer than the drain
// timeout: the stop does not wait for the execution (its time limit);
// the transaction aborts, nothing of it is committed, and the next member
// of the group runs the record: exactly one result under read_committed.
func TestExactlyOnceShutdownSlow(t *testing.T) {
	const drain = 200 * time.Millisecond
	c := startTxnCluster(t, 1, 1, "in", "out", "dlq")
	addrs := c.ListenAddrs()
	slowInputs(t, addrs, 0, 3000)
	p1 := newEOS(t, addrs, nil, func(o *Options) { o.DrainTimeout = drain })
	stop1 := runProcessor(t, p1)
	// the first transaction aborts at the drain timeout; the second
	// admits the record again and waits for it
	waitFor(t, 30*time.Second, "the record admitted again after an abort", func() bool {
		return p1.Stats().TxnAborts.Load() >= 1 && p1.Stats().Consumed.Load() >= 2
	})
	// Had shutdown waited for the record (its execution's time limit),
	// the record would have finished and been committed: the committed
	// offset, not a timing, tells.
	t0 := time.Now()
	stop1()
	t.Logf("stopped in %v", time.Since(t0).Round(time.Millisecond))
	if got := committedTotal(t, addrs, "eos"); got != 0 {
		t.Fatalf("after the first processor stopped, committed offset %d; want 0", got)
	}
	p2 := newEOS(t, addrs, nil, func(o *Options) { o.TransactionalID = "eos-test-1" })
	stop2 := runProcessor(t, p2)
	waitFor(t, 30*time.Second, "the slow record committed by the second processor", func() bool {
		return committedTotal(t, addrs, "eos") == 1
	})
	stop2()
	checkOnce(t, readCommitted(t, addrs, 1, "out", "dlq"), 1)
}

// TestExactlyOnceTaskPastTxnTimeout: an execution that writes a kafka:
// Task record and then runs longer than Kafka's transaction timeout has its
// transaction aborted by the coordinator every time. After loneAbortLimit
// such aborts of the record alone in its transaction, it is dead-lettered
// (Express.TransactionTimeout) instead of run again for ever, and the
// records behind it flow: under read_committed every input has exactly one
// result, and the given-up record's Task records are all aborted.
func TestExactlyOnceTaskPastTxnTimeout(t *testing.T) {
	const fast = 10
	c := startTxnCluster(t, 1, 1, "in", "out", "dlq", "side")
	addrs := c.ListenAddrs()
	wf, late := sideTaskWorkflow(t, `{"StartAt":"Pub","States":{
		"Pub":{"Type":"Task","Resource":"side","ResultPath":null,"Next":"Slow?"},
		"Slow?":{"Type":"Choice","Choices":[{"Variable":"$.wait","IsPresent":true,"Next":"Wait"}],"Default":"Done"},
		"Wait":{"Type":"Wait","SecondsPath":"$.wait","Next":"Done"},
		"Done":{"Type":"Succeed"}}}`)
	var rs []*kgo.Record
	rs = append(rs, &kgo.Record{Topic: "in", Key: []byte("slow"), Value: []byte(`{"i":"slow","wait":2}`)})
	for i := range fast {
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	produceAll(t, newClient(t, addrs), rs)
	p := newEOS(t, addrs, nil, func(o *Options) {
		o.Workflow = wf
		o.TxnMaxRecords = 1 // the record is alone in its transaction from the start
		o.DrainTimeout = 300 * time.Millisecond
		o.txnTimeout = time.Second // the Wait (2 s) outlasts it
	})
	late.p.Store(p.Producer())
	stop := runProcessor(t, p)
	waitFor(t, 60*time.Second, "every offset committed", func() bool { return committedTotal(t, addrs, "eos") == fast+1 })
	stop()
	if got := p.Stats().TxnAborts.Load(); got < loneAbortLimit {
		t.Errorf("%d transactions aborted; want at least %d (the coordinator's, at its timeout)", got, loneAbortLimit)
	}
	checkOnce(t, readCommitted(t, addrs, 1, "out", "dlq"), fast+1)
	errs := readCommittedBy(t, addrs, 1, HeaderError, "dlq")
	if len(errs) != 1 || errs[ErrTransactionTimeout] != 1 {
		t.Errorf("dead letters by error: %v; want one %s", errs, ErrTransactionTimeout)
	}
	// the slow record's Task records were all in aborted transactions
	side := readCommittedBy(t, addrs, 1, "Idempotency-Key", "side")
	checkOnce(t, side, fast)
}
