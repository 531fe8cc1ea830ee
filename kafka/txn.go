package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Exactly once (Options.Delivery = ExactlyOnce).
//
// The processor runs on a franz-go GroupTransactSession. Its poll loop
// opens a transaction, admits records for TxnInterval (or TxnMaxRecords
// records), then closes it:
//
//  1. it stops polling and waits until every admitted record is finished:
//     executed, and its output or dead letter (and every kafka: Task record
//     of the execution) acknowledged: all inside the open transaction;
//  2. with the produce gate shut (no produce can start), it ends the
//     transaction with a commit. The session commits the polled offsets,
//     which are then exactly the finished ones, in the transaction, and
//     aborts instead when the group rebalanced meanwhile;
//  3. it begins the next transaction and polls again.
//
// So a transaction holds the offsets of precisely the records whose results
// it holds: a record whose output is committed has its offset committed in
// the same transaction, and the reverse. The per-partition rings and
// watermarks work as at least once (ordering, pausing, the in-flight
// bounds); the watermark simply reaches the polled position before every
// commit. The cost is the pipeline's drain at each commit (see
// BENCHMARKS.md).
//
// A transaction is aborted when a produce fails (other than a record too
// large, sent to the dead-letter topic or truncated as at least once), when
// the records do not finish within DrainTimeout (the next transactions
// admit half as many; one of a single record waits for its execution's
// time limit instead, see txnWait; at shutdown nothing waits longer than
// DrainTimeout), when partitions are revoked or lost, or when Kafka
// refuses the commit. After an abort every
// partition is reset: what runs is cancelled, what the rings hold is
// dropped, and fetching restarts at the committed offsets, so each record
// of the aborted transaction runs again in a later one. An End that fails
// (fenced by a newer incarnation with the same transactional id, or a
// producer state Kafka's rules say cannot recover) makes the processor
// drop everything, close its client and start a new session.
//
// Lock order: gate, then assignMu, then partition.mu.

// txnState is an exactly-once processor's transaction state.
type txnState struct {
	sess *kgo.GroupTransactSession

	// gate is held for reading around every produce (and a kafka: Task's
	// whole synchronous produce) and for writing while a transaction ends
	// or begins, or while the client is replaced: franz-go forbids
	// producing concurrently with Begin and End.
	gate sync.RWMutex

	doomed  atomic.Pointer[string] // why the open transaction must abort
	drained chan struct{}          // the in-flight count reached 0, or doomed

	// owned by the poll loop
	began      time.Time
	consumedAt int64 // Stats.Consumed when the transaction began
	// budget is how many records a transaction admits: TxnMaxRecords,
	// halved below the records of a transaction that did not finish
	// within the drain timeout and doubled back after each commit, so
	// that a backlog of slow records (Tasks retrying) shrinks the
	// transactions until they finish instead of aborting for ever
	budget int
	// first is the first record the open transaction admitted.
	first recordID
	// lone counts, per record, the transactions of that record alone
	// that ended aborted after Kafka's transaction timeout had passed:
	// the coordinator aborted them, because the execution wrote early
	// (a kafka: Task record starts the coordinator's clock) and then ran
	// longer than the timeout. Run again, it would do the same for ever,
	// so at loneAbortLimit the record is given up: dead-lettered
	// (ErrTransactionTimeout) instead of run. Bounded: cleared at
	// loneMax entries.
	lone map[recordID]int

	// givenUp is the record given up, read by the workers (process).
	givenUp atomic.Pointer[givenUp]
}

// recordID names a record of an input topic.
type recordID struct {
	topic     string
	partition int32
	offset    int64
}

// givenUp is a record an exactly-once processor dead-letters instead of
// running, and why.
type givenUp struct {
	id    recordID
	cause string
}

// loneAbortLimit is how many times a record alone in its transaction may
// outlast Kafka's transaction timeout and be aborted before it is given
// up; loneMax bounds txnState.lone.
const (
	loneAbortLimit = 3
	loneMax        = 64
)

// loneAborted counts an abort of a transaction that held only the record
// t.first and lasted elapsed, longer than Kafka's transaction timeout; at
// loneAbortLimit the record is given up.
func (t *txnState) loneAborted(elapsed, timeout time.Duration, reason string) bool {
	first := t.first
	if t.lone == nil || len(t.lone) >= loneMax {
		t.lone = map[recordID]int{}
	}
	t.lone[first]++
	if t.lone[first] < loneAbortLimit {
		return false
	}
	delete(t.lone, first)
	t.givenUp.Store(&givenUp{id: first, cause: fmt.Sprintf(
		"exactly once: the record's transaction, which held it alone, was aborted %d times after Kafka's transaction timeout (%v) had passed (the last lasted %v: %s); "+
			"an execution that writes a kafka: Task record and then runs longer than the transaction timeout is aborted by Kafka every time, so the record is dead-lettered instead of run again",
		loneAbortLimit, timeout, elapsed.Round(time.Millisecond), reason)})
	return true
}

// givenUpCause returns why r is given up, or "" when it runs (always at
// least once: t is nil).
func (t *txnState) givenUpCause(r *kgo.Record) string {
	if t == nil {
		return ""
	}
	g := t.givenUp.Load()
	if g == nil || g.id.offset != r.Offset || g.id.partition != r.Partition || g.id.topic != r.Topic {
		return ""
	}
	return g.cause
}

func newTxnState() *txnState { return &txnState{drained: make(chan struct{}, 1)} }

// whyReleased dooms the open transaction when partitions are revoked or
// lost.
const whyReleased = "partitions released"

// doom makes the open transaction abort when it ends.
func (t *txnState) doom(why string) {
	t.doomed.CompareAndSwap(nil, &why)
	t.signalDrained()
}

func (t *txnState) signalDrained() {
	select {
	case t.drained <- struct{}{}:
	default:
	}
}

// Bounds of a transaction's end: the request itself, and at shutdown.
const (
	txnEndTimeout   = 30 * time.Second
	txnFinalTimeout = 3 * time.Second
)

// txnTimeout is the transaction timeout given to Kafka: a transaction lasts
// the interval plus the drain (up to DrainTimeout) plus its end, counted
// by the coordinator from its first write (a transaction of one record
// waiting longer, see txnWait, writes when the record finishes). It is also
// how long partitions taken from a process that stopped mid-transaction
// without dying (paused, partitioned away) wait before their next owner
// may read their committed offsets: the coordinator aborts the transaction
// then, and the stopped process, fenced, can commit nothing afterwards.
func txnTimeout(o *Options) time.Duration {
	if o.txnTimeout > 0 {
		return o.txnTimeout
	}
	return max(10*time.Second, o.TxnInterval+o.DrainTimeout+5*time.Second)
}

// txnClientOpts are the client options of an exactly-once processor.
func (p *Processor) txnClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.TransactionalID(p.o.TransactionalID),
		kgo.TransactionTimeout(txnTimeout(&p.o)),
		// inputs written by transactions (another exactly-once
		// workflow) are read once committed
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}
}

// txnConnect makes the transactional session and binds its client.
func (p *Processor) txnConnect(opts []kgo.Opt) (*kgo.Client, error) {
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, err
	}
	p.tx.gate.Lock()
	p.tx.sess, p.cl = sess, sess.Client()
	p.tx.doomed.Store(nil) // the previous session's dooms
	p.tx.gate.Unlock()
	return sess.Client(), nil
}

// produce sends s.out with s.ack as the promise; exactly once, under the
// gate, and not at all for a record of a partition that was reset or
// released meanwhile (its result belongs to no transaction any more).
func (p *Processor) produce(s *slot) {
	if p.tx == nil {
		p.cl.Produce(p.base, &s.out, s.ack)
		return
	}
	p.tx.gate.RLock()
	if s.part.ctx.Err() != nil || p.base.Err() != nil {
		p.tx.gate.RUnlock()
		p.discard(s)
		return
	}
	p.cl.Produce(p.base, &s.out, s.ack)
	p.tx.gate.RUnlock()
}

// txnProduceFailed handles a failed produce of an exactly-once processor
// that produceFailed did not redirect (a record too large goes the
// at-least-once way, in the same transaction): the transaction aborts and
// the record runs again.
func (p *Processor) txnProduceFailed(s *slot, err error) {
	if !errors.Is(err, kgo.ErrAborting) {
		p.log.Warn("produce failed: aborting the transaction, the record runs again", "topic", s.out.Topic,
			"source_partition", s.rec.Partition, "source_offset", s.rec.Offset, "err", err)
	}
	p.tx.doom("produce failed: " + err.Error())
	p.discard(s)
}

// Producer returns what kafka: Task targets of an exactly-once processor's
// workflow publish with (resources.Producer): their records join the
// transaction of the record being executed. A Task of an execution that no
// longer belongs to a transaction (its partition was reset or released)
// fails. At least once it returns nil.
func (p *Processor) Producer() *TxnProducer {
	if p.tx == nil {
		return nil
	}
	return &TxnProducer{p: p}
}

// TxnProducer publishes Task records inside an exactly-once processor's
// transactions; see Processor.Producer. Safe for concurrent use.
type TxnProducer struct{ p *Processor }

// errNoTxn is the error of a Task record produced for an execution that
// belongs to no transaction any more.
var errNoTxn = errors.New("the execution's transaction was aborted or its partition released: the record runs again")

// ProduceSync produces rs in the open transaction and waits for them. ctx
// is the execution's: cancelled when its partition is reset or released.
func (t *TxnProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	p := t.p
	p.tx.gate.RLock()
	defer p.tx.gate.RUnlock()
	if ctx.Err() != nil || p.base.Err() != nil {
		out := make(kgo.ProduceResults, len(rs))
		for i, r := range rs {
			out[i] = kgo.ProduceResult{Record: r, Err: errNoTxn}
		}
		return out
	}
	res := p.cl.ProduceSync(ctx, rs...)
	if err := res.FirstErr(); err != nil {
		// the transaction may hold part of them: it must not commit
		p.tx.doom("a kafka: Task record failed: " + err.Error())
	}
	return res
}

// txnLoop is the poll loop of an exactly-once processor: it polls inside
// transactions and ends one every TxnInterval or TxnMaxRecords records. At
// shutdown it ends the last one. It returns true when the session must be
// made anew.
func (p *Processor) txnLoop(ctx context.Context) (restart bool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var pause []*partition
	logged := map[string]time.Time{}
	p.tx.gate.Lock()
	err := p.beginTxn()
	p.tx.gate.Unlock()
	if err != nil {
		p.log.Error("cannot begin a transaction: starting a new session", "err", err)
		return true
	}
	if p.tx.budget == 0 {
		p.tx.budget = p.o.TxnMaxRecords
	}
	for ctx.Err() == nil {
		due := p.tx.began.Add(p.o.TxnInterval)
		n := p.stats.Consumed.Load() - p.tx.consumedAt
		if n >= int64(p.tx.budget) || !time.Now().Before(due) {
			if n == 0 && p.tx.doomed.Load() == nil {
				p.tx.began = time.Now() // nothing to commit
				continue
			}
			if !p.endTxn(ctx, p.txnWait(), txnEndTimeout, true) {
				return true
			}
			continue
		}
		dctx, cancel := context.WithDeadline(ctx, due)
		var closed bool
		if p.waitRoom(ctx, dctx, timer) && dctx.Err() == nil {
			pause, closed = p.pollOnce(dctx, min(p.o.MaxPollRecords, p.tx.budget-int(n)), logged, pause)
		}
		cancel()
		if closed {
			return false
		}
	}
	return !p.endTxn(nil, p.o.DrainTimeout, txnFinalTimeout, false)
}

// txnWait is how long a transaction's end waits for its records: the
// drain timeout; but once the transactions have shrunk to one record
// (budget 1: a record did not finish within the drain timeout even among
// few), as long as that record's execution may last, its time limit
// (Workflow.Timeout: the Express 5 minutes, or TimeoutSeconds) plus
// txnResultMargin for its result's produce. Otherwise an execution longer
// than the drain timeout would be aborted and run again for ever.
//
// Kafka's transaction timeout (txnTimeout) is not raised for it: the
// coordinator starts that clock at the transaction's first write, and the
// record writes its result when it finishes. Only a record that writes
// early (a kafka: Task) and then runs past the transaction timeout is
// still aborted (by the coordinator); after loneAbortLimit such aborts it
// is dead-lettered instead (txnState.lone).
func (p *Processor) txnWait() time.Duration {
	if p.tx.budget > 1 {
		return p.o.DrainTimeout
	}
	return max(p.o.DrainTimeout, p.wf.Timeout()+txnResultMargin)
}

// txnResultMargin is what a single record's transaction waits beyond its
// execution's time limit: the produce of its result (or dead letter).
const txnResultMargin = 10 * time.Second

// beginTxn begins a transaction. Called with the gate held for writing.
// A doom that came after the previous transaction's end was decided (a
// revoke just after its End) is kept: this one aborts.
func (p *Processor) beginTxn() error {
	err := p.tx.sess.Begin()
	p.tx.began = time.Now()
	p.tx.consumedAt = p.stats.Consumed.Load()
	return err
}

// endTxn waits (up to drain, and at most the drain timeout once stop is
// done: shutdown) for the admitted records to finish, ends the open
// transaction (committing when they did and nothing doomed it) and, when
// again, begins the next. It returns false when the session must be made
// anew.
func (p *Processor) endTxn(stop context.Context, drain, timeout time.Duration, again bool) bool {
	began := p.tx.began
	n := p.stats.Consumed.Load() - p.tx.consumedAt
	drained := p.waitDrained(stop, drain)
	why := p.tx.doomed.Swap(nil)
	commit := drained && why == nil
	p.tx.gate.Lock()
	defer p.tx.gate.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	committed, err := p.tx.sess.End(ctx, kgo.TransactionEndTry(commit))
	cancel()
	elapsed, limit := time.Since(began), txnTimeout(&p.o)
	if committed {
		p.eachPart(func(part *partition) {
			part.mu.Lock()
			part.done = max(part.done, part.wm)
			part.mu.Unlock()
		})
		p.stats.Commits.Add(1)
		p.tx.budget = min(p.o.TxnMaxRecords, 2*p.tx.budget)
		if p.m != nil {
			p.m.commitsOK.Inc()
			p.m.txnCommitted.Inc()
			p.m.txnDuration.Observe(time.Since(began).Seconds())
			p.m.txnRecords.Observe(float64(n))
		}
	} else {
		reason := "the group rebalanced, or Kafka refused the commit"
		switch {
		case why != nil:
			reason = *why
		case !drained:
			reason = "records did not finish within the drain timeout"
			p.tx.budget = max(1, min(p.tx.budget, int(n))/2)
		case err != nil:
			reason = err.Error()
		}
		p.stats.TxnAborts.Add(1)
		if p.m != nil {
			p.m.txnAborted.Inc()
		}
		p.log.Warn("transaction aborted: its records run again", "reason", reason, "records", n, "next_max_records", p.tx.budget)
		// not shutting down: neither the final end nor a wait cut short
		// by stop
		running := again && (stop == nil || stop.Err() == nil)
		if !drained && why == nil && n <= 1 && drain > p.o.DrainTimeout && running {
			p.log.Error("a record did not finish within its execution's time limit in a transaction of its own: it runs again",
				"waited", drain)
		}
		// A transaction of one record that outlasted Kafka's timeout was
		// aborted by the coordinator, unless it was released (a rebalance:
		// not the record's doing).
		if n == 1 && elapsed > limit && (why == nil || *why != whyReleased) && running && p.tx.loneAborted(elapsed, limit, reason) {
			f := p.tx.first
			p.log.Error("a record outlasted Kafka's transaction timeout alone in its transaction too many times: it goes to the dead-letter topic instead of running again",
				"topic", f.topic, "partition", f.partition, "offset", f.offset, "aborts", loneAbortLimit, "transaction_timeout", limit, "error", ErrTransactionTimeout)
		}
		p.resetParts()
	}
	p.trimSpare()
	if err != nil {
		hint := "if another process uses the same transactional id, give each process its own (--instance-id or --transactional-id)"
		if elapsed > limit {
			hint = "the transaction lasted " + elapsed.Round(time.Millisecond).String() + ", longer than Kafka's transaction timeout (" +
				limit.String() + "): the coordinator aborted it and fenced this producer"
		}
		p.log.Error("ending the transaction failed: starting a new session", "err", err, "hint", hint)
		return false
	}
	if !again {
		return true
	}
	if err := p.beginTxn(); err != nil {
		p.log.Error("cannot begin a transaction: starting a new session", "err", err)
		return false
	}
	return true
}

// waitDrained waits up to d for every admitted record to finish, and at
// most the drain timeout once stop is done (nil: never); it returns
// early, false, when the transaction is doomed.
func (p *Processor) waitDrained(stop context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	t := time.NewTimer(d)
	defer t.Stop()
	var stopped <-chan struct{}
	if stop != nil && d > p.o.DrainTimeout {
		stopped = stop.Done()
	}
	for p.total.Load() != 0 {
		if p.tx.doomed.Load() != nil {
			return false
		}
		select {
		case <-p.tx.drained:
		case <-stopped:
			// shutdown: what is left of the wait is the drain timeout
			stopped = nil
			if time.Until(deadline) > p.o.DrainTimeout {
				t.Reset(p.o.DrainTimeout)
			}
		case <-t.C:
			return p.total.Load() == 0
		}
	}
	return true
}

// resetParts drops what every partition holds after an abort: executions
// are cancelled (their results are refused by produce), the rings are
// emptied, and fetching restarts at the committed offsets (or, for a
// partition with none, at the first offset this assignment admitted).
// Called by the poll loop with the gate held for writing.
func (p *Processor) resetParts() {
	var old []*partition
	rewind := map[string]map[int32]kgo.EpochOffset{}
	p.assignMu.Lock()
	for k, part := range p.parts {
		part.mu.Lock()
		part.revoked.Store(true)
		part.mu.Unlock()
		part.stop()
		part.mu.Lock()
		n, bytes := part.detach()
		at := part.done
		if at < 0 {
			at = part.first
		}
		done, first := part.done, part.first
		part.mu.Unlock()
		p.untrack(n, bytes)
		np := newPartition(p.base, part.topic, part.id, p.o.Ordering != OrderUnordered)
		np.done = done
		if done < 0 {
			np.first = first
		}
		np.hw.Store(part.hw.Load())
		p.parts[k] = np
		old = append(old, part)
		if at >= 0 {
			if rewind[part.topic] == nil {
				rewind[part.topic] = map[int32]kgo.EpochOffset{}
			}
			rewind[part.topic][part.id] = kgo.EpochOffset{Epoch: -1, Offset: at}
		}
	}
	p.assignMu.Unlock()
	p.syncPause(old) // those paused in the client fetch again
	if len(rewind) > 0 {
		p.cl.SetOffsets(rewind)
	}
}
