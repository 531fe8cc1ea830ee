package kafka

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepstream/express/internal/jsonv"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/stepstream/express/express"
)

// Processor runs one workflow over the records of a consumer group: one
// execution per record on a bounded pool, results to the output or
// dead-letter topic, offsets committed only once every earlier record of the
// partition is finished (at least once). Create it with New, run it with
// Run; a Processor runs once.
type Processor struct {
	o      Options
	wf     *express.Workflow
	wfName []byte
	cl     *kgo.Client
	pool   *workers // started by Run
	seed   maphash.Seed
	epoch  time.Time // monoNow's origin (with a monotonic reading)
	dd     *dedup
	m      *wfMetrics
	log    *slog.Logger

	base       context.Context // executions and produces; outlives Run's ctx until drained
	cancelBase context.CancelFunc

	assignMu sync.RWMutex
	parts    map[tp]*partition

	commitMu sync.Mutex
	pauseMu  sync.Mutex

	total    atomic.Int64 // records admitted and not finished
	bytes    atomic.Int64 // their value bytes
	lowMark  int64
	lowBytes int64
	capCh    chan struct{}
	resumeMu sync.Mutex
	resumeQ  []*partition
	resumeCh chan struct{}

	topicLimits sync.Map // topic -> topicLimit
	recreated   recreated

	// spare are recycled slots beyond the partitions' own lists (at most
	// MaxInFlight): unlike a sync.Pool they survive garbage collections,
	// which emptied the pool every few hundred milliseconds and made about
	// every other record allocate a new slot
	spareMu sync.Mutex
	spare   []*slot
	parsers sync.Pool

	tx *txnState // exactly once; nil at least once

	runBuf  []*slot // the poll loop's slots to start (admit)
	heldMax int     // held records at which a partition pauses (holdBound)

	stats       Stats
	lat         latency
	ready       atomic.Bool
	started     atomic.Bool
	startedAt   atomic.Int64 // unix nanoseconds
	reachedAt   atomic.Int64 // unix nanoseconds of the last answered ping
	unreachable atomic.Bool  // the last ping failed
}

// Stats are a Processor's cumulative counters.
type Stats struct {
	Consumed   atomic.Int64 // records admitted
	Succeeded  atomic.Int64 // executions that succeeded
	Failed     atomic.Int64 // executions failed, timed out or aborted
	Output     atomic.Int64 // records acknowledged on the output topic
	DLQ        atomic.Int64 // records acknowledged on the dead-letter topic
	Finished   atomic.Int64 // records finished (result acknowledged, or nothing to produce)
	Duplicates atomic.Int64 // records skipped or coalesced by the dedup cache
	Commits    atomic.Int64 // successful offset commits (exactly once: committed transactions)
	TxnAborts  atomic.Int64 // exactly once: transactions aborted
}

// New validates o and builds a Processor. It does not connect.
func New(o Options) (*Processor, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	p := &Processor{
		o:        o,
		wf:       o.Workflow,
		wfName:   []byte(o.Workflow.Name()),
		seed:     maphash.MakeSeed(),
		epoch:    time.Now(),
		log:      o.Logger.With("workflow", o.Workflow.Name()),
		parts:    make(map[tp]*partition),
		capCh:    make(chan struct{}, 1),
		resumeCh: make(chan struct{}, 1),
		lowMark:  int64(o.MaxInFlight) * 3 / 4,
		lowBytes: o.MaxInFlightBytes * 3 / 4,
		heldMax:  holdBound(o.MaxInFlight, o.MaxInFlightPerPartition),
	}
	if o.DedupSize > 0 {
		p.dd = newDedup(o.DedupSize, o.DedupWindow)
	}
	if o.Delivery == ExactlyOnce {
		p.tx = newTxnState()
	}
	if o.Metrics != nil {
		p.m = o.Metrics.workflow(o.Workflow.Name(), p)
	}
	p.parsers.New = func() any { return &jsonv.Parser{} }
	p.pool = newWorkers(o.Concurrency, p.work)
	p.base, p.cancelBase = context.WithCancel(context.Background())
	return p, nil
}

// Workflow returns the workflow the processor runs.
func (p *Processor) Workflow() *express.Workflow { return p.wf }

// Stats returns the processor's counters; read them with Load.
func (p *Processor) Stats() *Stats { return &p.stats }

// Ready reports whether the processor has connected and joined its group.
func (p *Processor) Ready() bool { return p.ready.Load() }

// InFlight is the number of records admitted and not yet finished.
func (p *Processor) InFlight() int64 { return p.total.Load() }

// Lag is the sum over assigned partitions of the records between the commit
// watermark and the high watermark.
func (p *Processor) Lag() int64 {
	var n int64
	p.eachPart(func(part *partition) { n += part.lag() })
	return n
}

// LatencyQuantile returns the q-quantile (0..1) of the time from a record's
// admission to its result's acknowledgement, over the records finished
// since the previous call with reset true.
func (p *Processor) LatencyQuantile(q float64, reset bool) time.Duration {
	return p.lat.quantile(q, reset)
}

func (p *Processor) eachPart(f func(*partition)) {
	p.assignMu.RLock()
	defer p.assignMu.RUnlock()
	for _, part := range p.parts {
		f(part)
	}
}

// Run consumes until ctx is done, then stops fetching, lets in-flight
// executions finish (up to DrainTimeout), commits, leaves the group and
// returns. It returns an error only if the client cannot be created.
func (p *Processor) Run(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("kafka: Processor.Run called twice")
	}
	opts := p.clientOpts()
	p.startedAt.Store(time.Now().UnixNano())
	defer p.cancelBase()
	for attempt := 0; ; attempt++ {
		cl, err := p.connect(opts)
		if err != nil {
			if attempt == 0 {
				return err
			}
			p.log.Error("cannot make a new Kafka client for the transactional session", "err", err)
		} else {
			if attempt == 0 {
				p.pool.start()
			}
			if !p.session(ctx, cl) {
				break
			}
		}
		// an exactly-once session that Kafka's rules say cannot go on
		// (fenced, or a fatal producer state): start anew
		select {
		case <-ctx.Done():
		case <-time.After(retryDelay(attempt + 1)):
		}
		if ctx.Err() != nil {
			break
		}
	}
	p.pool.close()
	return nil
}

// connect makes the client (an exactly-once processor's transactional
// session) and binds it.
func (p *Processor) connect(opts []kgo.Opt) (*kgo.Client, error) {
	if p.tx == nil {
		cl, err := kgo.NewClient(opts...)
		if err == nil {
			p.cl = cl
		}
		return cl, err
	}
	return p.txnConnect(opts)
}

// session runs one client until ctx is done (or, exactly once, until the
// transactional session must be made anew: it then returns true), then
// drains, commits, leaves the group and closes the client.
func (p *Processor) session(ctx context.Context, cl *kgo.Client) (restart bool) {
	for _, t := range []string{p.o.OutputTopic, p.o.DLQTopic} {
		if t != "" {
			p.askRecordLimit(ctx, t)
		}
	}
	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(context.Background())
	if p.tx == nil {
		wg.Add(1)
		go func() { defer wg.Done(); p.commitLoop(loopCtx) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); p.resumeLoop(loopCtx) }()
	go func() { defer wg.Done(); p.watchBroker(loopCtx, ctx) }()

	if p.tx == nil {
		p.pollLoop(ctx)
	} else {
		restart = p.txnLoop(ctx)
	}

	// Shutdown: drain and commit everything, then leave the group, all
	// within the drain timeout plus shutdownGrace whatever the executions
	// and the brokers do. The periodic commit is cancelled first: the
	// final one commits everything.
	p.ready.Store(false)
	stopLoops()
	wg.Wait()
	deadline := time.Now().Add(p.o.DrainTimeout + shutdownGrace)
	sctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-closeMin))
	defer cancel()
	all := map[string][]int32{}
	p.eachPart(func(part *partition) { all[part.topic] = append(all[part.topic], part.id) })
	p.release(sctx, all, restart)
	// leaving the group may wait on a broker that does not answer
	closed := make(chan struct{})
	go func() { cl.Close(); close(closed) }()
	wait := max(time.Until(deadline), closeMin)
	select {
	case <-closed:
	case <-time.After(wait):
		p.log.Warn("the Kafka client did not close in time; leaving it behind", "waited", wait)
	}
	return restart
}

// shutdownGrace is what shutdown may take beyond the drain timeout: the
// final commit and leaving the group; closeMin of it is kept for leaving.
const (
	shutdownGrace = 4 * time.Second
	closeMin      = time.Second
)

// RebalanceTimeout is the consumer group rebalance timeout of a processor
// with the given drain timeout: a member that dies while the group
// rebalances is waited for this long (twice: to join, then to sync);
// revoking takes up to the drain timeout and the final commit of the
// revoked partitions (at most 5 s), so it cannot be shorter.
func RebalanceTimeout(drainTimeout time.Duration) time.Duration {
	return drainTimeout + 7*time.Second
}

// full reports whether admission must wait: too many records or bytes in
// flight.
func (p *Processor) full() bool {
	return p.total.Load() >= int64(p.o.MaxInFlight) || p.bytes.Load() >= p.o.MaxInFlightBytes
}

// watchBroker pings the cluster every second (every half second until the
// first answer) until ctx is done: the first answer makes the processor
// ready; Reachable says whether the last one was answered, and each change
// is logged with the client's error (a refused SASL login, a broker gone).
// Until run is done a failed ping also means not ready.
func (p *Processor) watchBroker(ctx, run context.Context) {
	every := 500 * time.Millisecond
	var lastErr string
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := p.cl.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		now := time.Now().UnixNano()
		if err == nil {
			p.reachedAt.Store(now)
			if p.unreachable.Swap(false) {
				p.log.Info("broker reachable again")
			}
			if run.Err() == nil {
				p.ready.Store(true)
			}
			every, lastErr = time.Second, ""
		} else {
			if !p.unreachable.Swap(true) || err.Error() != lastErr {
				attrs := []any{"brokers", p.cl.OptValue(kgo.SeedBrokers), "err", err}
				if mechs, _ := p.cl.OptValue(kgo.SASL).([]sasl.Mechanism); len(mechs) > 0 {
					// a broker refusing a login often just closes the
					// connection: the error alone does not say why
					attrs = append(attrs, "hint", "SASL "+mechs[0].Name()+" is configured: a refused login looks like this; check the mechanism, user and password")
				}
				p.log.Warn("broker unreachable", attrs...)
			}
			lastErr = err.Error()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Reachable reports whether the last ping of the cluster (one a second)
// was answered; false before the first answer.
func (p *Processor) Reachable() bool { return p.reachedAt.Load() != 0 && !p.unreachable.Load() }

// UnreachableFor is how long the cluster has not answered (0 when it
// does; since the start when it never has).
func (p *Processor) UnreachableFor() time.Duration {
	if !p.unreachable.Load() {
		return 0
	}
	at := p.reachedAt.Load()
	if at == 0 {
		at = p.startedAt.Load()
	}
	return time.Duration(time.Now().UnixNano() - at)
}

func (p *Processor) pollLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var pause []*partition
	logged := map[string]time.Time{} // fetch errors logged, by partition and text
	for ctx.Err() == nil {
		if !p.waitRoom(ctx, ctx, timer) {
			return
		}
		var closed bool
		if pause, closed = p.pollOnce(ctx, p.o.MaxPollRecords, logged, pause); closed {
			return
		}
	}
}

// waitRoom waits while admission must wait (full), until ctx or stop is
// done; it reports whether ctx is still live.
func (p *Processor) waitRoom(ctx, stop context.Context, timer *time.Timer) bool {
	for p.full() && stop.Err() == nil {
		timer.Reset(100 * time.Millisecond)
		select {
		case <-p.capCh:
		case <-timer.C:
		case <-stop.Done():
		}
	}
	return ctx.Err() == nil
}

// pollOnce polls up to max records and admits them; it reports whether the
// client is closed.
func (p *Processor) pollOnce(ctx context.Context, max int, logged map[string]time.Time, pause []*partition) ([]*partition, bool) {
	fs := p.cl.PollRecords(ctx, max)
	if fs.IsClientClosed() {
		return pause, true
	}
	fs.EachError(func(t string, part int32, err error) {
		// each distinct error of a partition is logged once every 10 s:
		// a broker that is gone answers every fetch with it
		k := t + "/" + strconv.Itoa(int(part)) + ": " + err.Error()
		if now := time.Now(); !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && now.Sub(logged[k]) >= 10*time.Second {
			if len(logged) > 10000 {
				clear(logged)
			}
			logged[k] = now
			p.log.Warn("fetch error", "topic", t, "partition", part, "err", err)
		}
		if errors.Is(err, kerr.UnknownTopicID) {
			p.topicIDUnknown(t, true)
		}
	})
	pause = p.dispatch(fs, pause[:0])
	if len(pause) > 0 {
		p.syncPause(pause)
	}
	return pause, false
}

// dispatch admits the records of one poll (admit). It returns the
// partitions that must pause.
func (p *Processor) dispatch(fs kgo.Fetches, pause []*partition) []*partition {
	t0 := p.monoNow() // one admission time for the whole poll
	p.assignMu.RLock()
	defer p.assignMu.RUnlock()
	fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
		part := p.parts[tp{ftp.Topic, ftp.Partition}]
		if part == nil {
			if p.tx != nil && len(ftp.Records) > 0 {
				// the transaction would commit offsets polled and not run
				p.tx.doom("records polled for a partition not held")
			}
			return // not (or no longer) ours: the owner will read it
		}
		if ftp.HighWatermark > 0 {
			part.hw.Store(ftp.HighWatermark)
		}
		if len(ftp.Records) > 0 && p.admit(part, ftp.Records, t0) {
			pause = append(pause, part)
		}
	})
	return pause
}

// admit takes the polled records of one partition. While the partition's
// ring has fewer than MaxInFlightPerPartition records they enter it
// (enter: started, or queued behind their key); the rest are held, in
// memory and in order, and enter the ring as it drains (complete). Held or
// not they count in the in-flight records and bytes at once, so the global
// bounds stop polling before memory grows. It reports whether the
// partition must pause: its held records reached holdBound (only then does the client drop what it buffered for the partition,
// to fetch it again on resume).
func (p *Processor) admit(part *partition, rs []*kgo.Record, t0 int64) bool {
	run := p.runBuf[:0]
	var n, bytes int64
	pause := false
	part.mu.Lock()
	if part.revoked.Load() {
		part.mu.Unlock()
		return false
	}
	for _, r := range rs {
		if r.Offset < part.next {
			continue // stale: fetched again after a rewind
		}
		if part.first < 0 {
			part.first = r.Offset
		}
		if p.tx != nil && n == 0 && p.stats.Consumed.Load() == p.tx.consumedAt {
			// the open transaction's first record (admit runs on the
			// poll loop, as the transactions do)
			p.tx.first = recordID{r.Topic, r.Partition, r.Offset}
		}
		part.next = r.Offset + 1
		n++
		bytes += int64(len(r.Value))
		if part.n < p.o.MaxInFlightPerPartition && part.heldLen() == 0 {
			if s := p.enter(part, r, t0); s != nil {
				run = append(run, s)
			}
		} else {
			part.held = append(part.held, heldRec{r, t0})
		}
	}
	if part.heldLen() >= p.heldMax && !part.paused {
		part.paused, pause = true, true
	}
	// counted before the lock is released: a completion may move held
	// records into the ring and finish them at once
	p.total.Add(n)
	p.bytes.Add(bytes)
	part.mu.Unlock()
	p.stats.Consumed.Add(n)
	if p.m != nil && n > 0 {
		p.m.consumed.Add(float64(n))
	}
	p.start(run)
	clear(run)
	p.runBuf = run[:0]
	return pause
}

// clientOpts are the franz-go options of the processor's client: the
// consumer group and its callbacks, the fetch and produce settings the
// options imply, then Options.ClientOpts (which win), then the
// transactional ones.
func (p *Processor) clientOpts() []kgo.Opt {
	opts := append([]kgo.Opt{
		kgo.ConsumerGroup(p.o.Group),
		kgo.ConsumeTopics(p.o.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(p.onAssigned),
		kgo.OnPartitionsRevoked(p.onRevoked),
		kgo.OnPartitionsLost(p.onLost),
		kgo.ProducerLinger(p.o.Linger),
		// A source has one fetch in flight; a partition resumed while it
		// long-polls waits for it, so keep the long poll short.
		kgo.FetchMaxWait(50 * time.Millisecond),
		kgo.MaxBufferedRecords(max(2*p.o.MaxInFlight, 10000)),
		kgo.FetchMaxPartitionBytes(p.o.FetchMaxPartitionBytes),
		kgo.FetchMaxBytes(int32(min(p.o.MaxInFlightBytes, maxFetchBytes))),
		// batches fit the topics' max.message.bytes (asked below, before
		// anything is produced)
		kgo.ProducerBatchMaxBytesFn(p.batchLimit),
		kgo.RebalanceTimeout(RebalanceTimeout(p.o.DrainTimeout)),
		// A produce refused with NOT_LEADER_FOR_PARTITION (a leader moved)
		// or a broken connection waits for the next metadata refresh,
		// which franz-go spaces by at least this (default 5 s): records
		// stayed unacknowledged that long, and a revoke waited as long
		// for them (up to the drain timeout).
		kgo.MetadataMinAge(MetadataMinAge),
	}, p.o.ClientOpts...)
	if p.tx != nil {
		opts = append(opts, p.txnClientOpts()...)
	}
	return opts
}

// MetadataMinAge is the least time between a processor client's metadata
// refreshes (kgo.MetadataMinAge; franz-go's default is 5 s): a produce
// refused because a leader moved is retried after the next refresh.
// Kafka's own clients back off 100 ms to 1 s before refreshing after an
// error (retry.backoff.ms, retry.backoff.max.ms).
const MetadataMinAge = 500 * time.Millisecond

// maxFetchBytes is Kafka's default fetch.max.bytes (50 MiB), the most a
// fetch response asks for even when MaxInFlightBytes is larger.
const maxFetchBytes = 50 << 20

// holdBound is how many records a partition may hold beyond its
// MaxInFlightPerPartition admitted before its fetching pauses: as many
// again, but at most a quarter of MaxInFlight, so that a partition stuck
// on a key takes at most that much more of the budget than it did when
// full partitions paused at once.
func holdBound(maxInFlight, perPartition int) int {
	return max(1, min(perPartition, maxInFlight/4))
}

// enter puts r into its partition's ring with a slot and returns the slot
// when it can run now (nil when it waits behind its key). Called with
// part.mu held.
func (p *Processor) enter(part *partition, r *kgo.Record, t0 int64) *slot {
	var hash uint64
	chained := p.o.Ordering == OrderPartition
	if p.o.Ordering == OrderKey && len(r.Key) > 0 {
		// records without a key have no key order to keep
		hash, chained = maphash.Bytes(p.seed, r.Key), true
	}
	if len(part.free) == 0 {
		p.takeSpare(part)
	}
	var s *slot
	if k := len(part.free); k > 0 {
		s = part.free[k-1]
		part.free[k-1] = nil
		part.free = part.free[:k-1]
	} else {
		s = newSlot(p)
	}
	s.part, s.rec, s.t0, s.hash, s.chained = part, r, t0, hash, chained
	s.size = int64(len(r.Value))
	part.push(s)
	if chained {
		tail, ok := part.keys[hash]
		part.keys[hash] = s
		if ok {
			tail.next = s
			return nil
		}
	}
	part.running++
	return s
}

// spareBatch is how many spare slots a partition takes at once.
const spareBatch = 64

// takeSpare moves up to spareBatch spare slots to part's list. Called with
// part.mu held.
func (p *Processor) takeSpare(part *partition) {
	p.spareMu.Lock()
	k := max(len(p.spare)-spareBatch, 0)
	part.free = append(part.free, p.spare[k:]...)
	clear(p.spare[k:])
	p.spare = p.spare[:k]
	p.spareMu.Unlock()
}

// putSpare keeps finished slots (reset) for later records, up to
// MaxInFlight of them, without output buffers over spareBufMax; the rest
// are left to the garbage collector.
func (p *Processor) putSpare(ss []*slot) {
	for _, s := range ss {
		if cap(s.buf) > spareBufMax {
			s.buf = nil
		}
	}
	p.spareMu.Lock()
	n := min(len(ss), p.o.MaxInFlight-len(p.spare))
	p.spare = append(p.spare, ss[:max(n, 0)]...)
	p.spareMu.Unlock()
}

// spareBufMax is the largest output buffer a spare slot keeps.
const spareBufMax = 4 << 10

// trimSpare drops the spare slots beyond the records now in flight: after
// a backlog the daemon does not keep a backlog's worth of slots. Called
// every CommitInterval (at least once) or transaction (exactly once).
func (p *Processor) trimSpare() {
	keep := int(max(p.total.Load(), spareBatch))
	p.spareMu.Lock()
	if len(p.spare) > keep {
		clear(p.spare[keep:])
		p.spare = p.spare[:keep]
	}
	p.spareMu.Unlock()
}

// start hands slots that can run to the pool.
func (p *Processor) start(run []*slot) {
	if len(run) == 0 {
		return
	}
	if !p.pool.submitAll(run) {
		for _, s := range run {
			p.discard(s) // pool closed: shutting down
		}
	}
}

func (p *Processor) work(s *slot, res *express.Result) {
	defer func() {
		if v := recover(); v != nil {
			// a bug in this package (the engine recovers its own): the
			// record stays unfinished, the worker lives on
			p.log.Error("panic in worker", "panic", v)
		}
	}()
	for s != nil {
		s = p.process(s, res)
	}
}

// process runs one record and returns the next record of its key, which the
// same worker runs next. res is the worker's, for the execution's result
// (a local would be moved to the heap: it is passed to the Observer, one
// allocation per record); process leaves it zero.
func (p *Processor) process(s *slot, res *express.Result) *slot {
	part := s.part
	if part.ctx.Err() != nil || (!s.parsed && part.revoked.Load()) {
		// a revoked partition starts nothing new: the record is left
		// uncommitted for the partition's next owner
		nxt := p.handoff(s)
		p.discard(s)
		return nxt
	}
	r := s.rec
	if !s.parsed {
		s.parsed = true
		if len(r.Value) > p.o.MaxRecordBytes {
			return p.reject(s, ErrRecordTooLarge, "record value is "+strconv.Itoa(len(r.Value))+" bytes, over the limit of "+strconv.Itoa(p.o.MaxRecordBytes))
		}
		if cause := p.tx.givenUpCause(r); cause != "" {
			return p.reject(s, ErrTransactionTimeout, cause)
		}
		// jsonv.Parser validates as it reads and never panics: a malformed
		// record goes to the DLQ, nothing else.
		ps := p.parsers.Get().(*jsonv.Parser)
		v, lease, err := ps.ParseLeased(r.Value)
		p.parsers.Put(ps)
		if err != nil {
			return p.reject(s, ErrInvalidJSON, err.Error())
		}
		s.val, s.inLease = v, lease
		if p.o.IdempotencyKey.IsDefault() {
			s.setOffsetName()
		} else {
			s.name = p.o.IdempotencyKey.key(r, v, part.prefix)
		}
	}
	if p.dd != nil {
		s.waitRefs.Store(2)
		switch p.dd.begin(s.name, s, p.monoNow()) {
		case dedupDuplicate:
			nxt := p.handoff(s)
			p.stats.Duplicates.Add(1)
			if p.m != nil {
				p.m.dedupSkipped.Inc()
			}
			p.complete(s)
			return nxt
		case dedupWaiting:
			// The running owner finishes s (complete) or gives it back to be
			// run (abandon); whichever of that and this handoff comes last
			// acts.
			nxt := p.handoff(s)
			p.releaseWaiter(s)
			return nxt
		}
		s.owner = true
	}
	wf := p.wf
	if p.o.ExecutionLog != nil {
		wf = p.o.ExecutionLog.begin(s)
	}
	// RawOutput: the output is written with jsonv below, which takes the
	// engine's objects as they are (an execution log that writes outputs
	// wants plain values).
	hist := p.sample()
	*res = wf.Execute(part.ctx, s.val, express.ExecOptions{Name: s.name, InputSize: len(r.Value), RawOutput: !p.o.ExecutionLog.logsOutput(),
		Headers: s.propagated(p.o.PropagateHeaders), History: hist})
	if res.Status == express.Aborted && part.ctx.Err() != nil {
		nxt := p.handoff(s)
		*res = express.Result{}
		p.discard(s)
		return nxt
	}
	nxt, held := p.beforeProduce(s)
	p.observe(r, res, hist)
	s.val = nil
	s.status = string(res.Status)
	if p.o.ExecutionLog != nil {
		p.o.ExecutionLog.end(s, res)
	}
	if p.m != nil {
		p.m.execution(res)
	}
	if res.Status != express.Succeeded {
		p.stats.Failed.Add(1)
		name, cause, stop := res.Error, res.Cause, res.Stop
		p.releaseMemory(s, res)
		*res = express.Result{}
		p.produceDLQ(s, name, cause, stop)
		return p.afterProduce(s, held, nxt)
	}
	p.stats.Succeeded.Add(1)
	if p.o.OutputTopic == "" {
		p.releaseMemory(s, res)
		*res = express.Result{}
		nxt = p.afterProduce(s, held, nxt) // nothing to produce: the key goes on now
		p.complete(s)
		return nxt
	}
	// jsonv.AppendJSON writes any value the engine returns (it does not
	// fail or panic); the buffer is the slot's, reused once acknowledged.
	val := jsonv.AppendJSON(s.buf[:0], res.Output)
	stop := res.Stop
	p.releaseMemory(s, res)
	*res = express.Result{}
	s.buf = val
	s.phase = phaseOutput
	s.outputRecord(p.o.OutputTopic, val)
	s.out.Timestamp = stop
	if testHookBeforeProduce != nil {
		testHookBeforeProduce(s)
	}
	p.produce(s)
	return p.afterProduce(s, held, nxt)
}

// releaseMemory hands the memory of s's execution back to the engine once its
// result has been written (express.Result.Release), and that of its input
// document when nothing outside the result held the execution's values
// (the output may share the input's strings). Nothing of either is read
// afterwards: the output is serialised, Error and Cause never share that
// memory, the execution name is the slot's own (a custom idempotency key
// is copied out of the input, KeySource.key), and a dead letter carries
// the record's bytes. Not when the execution log writes outputs: its
// goroutine reads the output later.
func (p *Processor) releaseMemory(s *slot, res *express.Result) {
	if !p.o.ExecutionLog.logsOutput() && res.Release() {
		s.inLease.Release()
	}
	s.inLease = jsonv.Lease{}
}

// testHookBeforeProduce, set by tests only, runs before a worker produces
// an execution's output.
var testHookBeforeProduce func(*slot)

// beforeProduce is called by s's worker before it produces s's result.
// Unless s runs in no key order, its key is handed on only after the
// produce call (afterProduce): the records of a key are produced in the
// order they ran, so their results reach the (same) output partition in
// offset order. Handed on before, the next record of the key could run on
// another worker and be produced first. It returns the next record of the
// key when it is handed on at once.
func (p *Processor) beforeProduce(s *slot) (nxt *slot, held bool) {
	if !s.chained || s.handedOff {
		return p.handoff(s), false
	}
	s.keyHeld.Store(2)
	return nil, true
}

// afterProduce hands on the key that beforeProduce held and returns the
// next record of the key (to be run by this worker). s cannot finish while
// its key is held: its acknowledgement's complete (or a discard) waits for
// this, and whichever of the two comes last finishes s.
func (p *Processor) afterProduce(s *slot, held bool, nxt *slot) *slot {
	if !held {
		return nxt
	}
	nxt = p.handoff(s)
	if s.keyHeld.Add(-1) == 0 {
		if s.heldDiscarded {
			p.discard(s)
		} else {
			p.complete(s)
		}
	}
	return nxt
}

// deferFinish reports whether finishing s must wait for its worker to hand
// its key on (afterProduce finishes it then).
func (p *Processor) deferFinish(s *slot, discard bool) bool {
	if s.keyHeld.Load() == 0 {
		return false
	}
	s.heldDiscarded = discard
	return s.keyHeld.Add(-1) != 0
}

// handoff releases s's key to the next record of the same key, which is
// returned to be run now, unless the partition is revoked.
func (p *Processor) handoff(s *slot) *slot {
	if s.handedOff {
		return nil
	}
	s.handedOff = true
	part := s.part
	if !s.chained {
		return nil
	}
	part.mu.Lock()
	nxt := s.next
	s.next = nil
	if nxt == nil {
		if part.keys[s.hash] == s {
			delete(part.keys, s.hash)
		}
	} else if part.revoked.Load() {
		// start nothing new: the queued records stay unfinished and are
		// re-delivered to the partition's next owner.
		nxt = nil
	} else {
		part.running++
	}
	part.mu.Unlock()
	return nxt
}

// reject sends a record that is not executed to the DLQ, named by its
// offset (there is no input to read a custom key from), and returns the
// next record of its key, as process does.
func (p *Processor) reject(s *slot, name, cause string) *slot {
	s.setOffsetName()
	nxt, held := p.beforeProduce(s)
	s.status = "REJECTED"
	p.produceDLQ(s, name, cause, time.Time{})
	return p.afterProduce(s, held, nxt)
}

// produceDLQ produces s's dead letter. ts is its timestamp: the end of its
// execution, read by the engine a moment before (the client would read the
// clock again for it), or zero: the client's clock.
func (p *Processor) produceDLQ(s *slot, name, cause string, ts time.Time) {
	s.errName, s.cause = name, cause
	s.phase = phaseDLQ
	s.deadLetter(p.o.DLQTopic, name, cause)
	s.out.Timestamp = ts
	p.produce(s)
}

// produceFailed handles a produce that the client gave up on. A rejected
// output goes to the DLQ; a dead letter refused as too large is sent
// truncated (see truncateDLQ); anything else is retried with a backoff, and
// the partition's watermark waits for it: nothing is committed past an
// unacknowledged result.
func (p *Processor) produceFailed(s *slot, err error) {
	if p.base.Err() != nil || s.part.ctx.Err() != nil {
		p.discard(s)
		return
	}
	if p.tx == nil && err.Error() == errPurgedText {
		// the processor purged the topic (recreated, or its limit went
		// down): the record is sent again at once, no failure of its own
		go p.resend(s, 10*time.Millisecond)
		return
	}
	s.attempts++
	if p.m != nil {
		p.m.produceErrors.Inc()
	}
	if errors.Is(err, kerr.UnknownTopicID) {
		p.topicIDUnknown(s.out.Topic, false)
	}
	// exactly once, only a record too large is redirected (in the same
	// transaction); anything else aborts the transaction (txnProduceFailed)
	refused := !kerr.IsRetriable(err)
	if p.tx != nil {
		refused = tooLarge(err)
	}
	switch {
	case s.phase == phaseDLQ && tooLarge(err):
		go p.truncateDLQ(s, err)
		return
	case s.phase == phaseOutput && refused:
		p.log.Warn("output refused, sending the record to the dead-letter topic", "topic", s.out.Topic,
			"source_partition", s.rec.Partition, "source_offset", s.rec.Offset, "err", err)
		p.produceDLQ(s, ErrOutputRejected, "the output topic rejected the result: "+err.Error(), time.Time{})
		return
	}
	if p.tx != nil {
		p.txnProduceFailed(s, err)
		return
	}
	delay := retryDelay(s.attempts)
	if s.attempts&(s.attempts-1) != 0 {
		go p.resend(s, delay) // logged on attempts 1, 2, 4, 8, ...
		return
	}
	p.log.Error("produce failed, retrying", "topic", s.out.Topic, "source_partition", s.rec.Partition, "source_offset", s.rec.Offset,
		"attempt", s.attempts, "retry_in", delay, "err", err)
	go p.resend(s, delay)
}

// resend produces s.out again after delay, unless the processor or the
// record's partition stops first.
func (p *Processor) resend(s *slot, delay time.Duration) {
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.base.Done():
			p.discard(s)
			return
		case <-s.part.ctx.Done():
			p.discard(s)
			return
		}
	}
	s.out = kgo.Record{Topic: s.out.Topic, Key: s.out.Key, Value: s.out.Value, Headers: s.out.Headers}
	p.produce(s)
}

// errPurgedText is the text of franz-go's (unexported) error for records
// buffered for a topic purged from the client.
const errPurgedText = "topic purged while buffered"

// retryDelay is the wait before the attempt-th retry of a produce: 1 s,
// doubling up to 30 s.
func retryDelay(attempt int) time.Duration {
	return min(time.Second<<min(max(attempt-1, 0), 5), 30*time.Second)
}

// monoNow is the time in nanoseconds since the processor was made, read
// from the monotonic clock only: half the cost of time.Now, which also
// reads the wall clock. Admission times (latency) and the dedup window use
// it.
func (p *Processor) monoNow() int64 { return int64(time.Since(p.epoch)) }

// complete marks s finished, moves its partition's watermark and recycles
// the records popped from the ring. s must not be used afterwards.
func (p *Processor) complete(s *slot) {
	if p.deferFinish(s, false) {
		return
	}
	now := p.monoNow()
	if s.owner {
		for _, w := range p.dd.finish(s.name, now) {
			p.stats.Duplicates.Add(1)
			if p.m != nil {
				p.m.dedupCoalesced.Inc()
			}
			w.rerun = false
			p.releaseWaiter(w)
		}
	}
	switch s.phase {
	case phaseOutput:
		p.stats.Output.Add(1)
		if p.m != nil {
			p.m.output.Inc()
		}
	case phaseDLQ:
		p.observeDLQ(s)
		p.stats.DLQ.Add(1)
		if p.m != nil {
			p.m.dlqReason(s.status).Inc()
		}
	}
	p.stats.Finished.Add(1)
	p.lat.observe(now - s.t0)
	part := s.part
	var freeBuf, runBuf [16]*slot
	run := runBuf[:0]
	part.mu.Lock()
	s.done = true
	part.running--
	var popped int
	var bytes int64
	var free []*slot
	if !part.detached {
		// a detached partition's records were already subtracted
		popped, bytes, free = part.advance(freeBuf[:0])
		if popped > 0 && !part.revoked.Load() {
			// held records enter the ring as it drains (their in-flight
			// count was taken when they were polled)
			for part.heldLen() > 0 && part.n < p.o.MaxInFlightPerPartition {
				h := part.popHeld()
				if r := p.enter(part, h.r, h.t0); r != nil {
					run = append(run, r)
				}
			}
		}
	}
	resume := false
	if part.paused && part.heldLen() <= p.heldMax/2 {
		part.paused, resume = false, true
	}
	part.checkIdle()
	part.mu.Unlock()
	p.start(run)
	if popped > 0 {
		p.untrack(popped, bytes)
		if len(free) > 0 {
			p.putSpare(free)
		}
	}
	if resume {
		p.resumeMu.Lock()
		p.resumeQ = append(p.resumeQ, part)
		p.resumeMu.Unlock()
		select {
		case p.resumeCh <- struct{}{}:
		default:
		}
	}
}

// releaseWaiter is called twice for a record that waits for a running
// duplicate: by its worker after the handoff and by the owner when it ends.
// The second call finishes the record, or runs it when the owner was
// abandoned.
func (p *Processor) releaseWaiter(w *slot) {
	if w.waitRefs.Add(-1) != 0 {
		return
	}
	if w.rerun {
		// rare: the owner's partition was revoked mid-run
		if !p.pool.submit(w) {
			p.discard(w)
		}
		return
	}
	p.complete(w)
}

// discard gives up on s: it stays unfinished, so its offset is never
// committed by this process.
func (p *Processor) discard(s *slot) {
	if p.deferFinish(s, true) {
		return
	}
	if s.owner {
		s.owner = false
		for _, w := range p.dd.abandon(s.name) {
			w.rerun = true
			p.releaseWaiter(w)
		}
	}
	part := s.part
	part.mu.Lock()
	part.running--
	part.checkIdle()
	part.mu.Unlock()
}

// untrack subtracts records that left the in-flight window (finished, or
// abandoned with their partition) and wakes the poll loop when the window
// falls below its low marks.
func (p *Processor) untrack(n int, bytes int64) {
	t := p.total.Add(-int64(n))
	b := p.bytes.Add(-bytes)
	if t == 0 && p.tx != nil {
		p.tx.signalDrained()
	}
	wasFull := t+int64(n) >= p.lowMark || b+bytes >= p.lowBytes
	if wasFull && t < p.lowMark && b < p.lowBytes {
		select {
		case p.capCh <- struct{}{}:
		default:
		}
	}
}

func (p *Processor) resumeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.resumeCh:
		}
		p.resumeMu.Lock()
		q := p.resumeQ
		p.resumeQ = nil
		p.resumeMu.Unlock()
		p.syncPause(q)
	}
}

// syncPause makes the client's paused state of parts match what they want.
func (p *Processor) syncPause(parts []*partition) {
	p.pauseMu.Lock()
	defer p.pauseMu.Unlock()
	var pause, resume map[string][]int32
	for _, part := range parts {
		part.mu.Lock()
		want := part.paused && !part.revoked.Load()
		part.mu.Unlock()
		if want == part.kgoPaused {
			continue
		}
		part.kgoPaused = want
		if want {
			if pause == nil {
				pause = map[string][]int32{}
			}
			pause[part.topic] = append(pause[part.topic], part.id)
		} else {
			if resume == nil {
				resume = map[string][]int32{}
			}
			resume[part.topic] = append(resume[part.topic], part.id)
		}
	}
	if pause != nil {
		p.cl.PauseFetchPartitions(pause)
	}
	if resume != nil {
		p.cl.ResumeFetchPartitions(resume)
	}
}

func (p *Processor) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	p.assignMu.Lock()
	defer p.assignMu.Unlock()
	for t, ps := range m {
		for _, id := range ps {
			k := tp{t, id}
			if _, ok := p.parts[k]; !ok {
				p.parts[k] = newPartition(p.base, t, id, p.o.Ordering != OrderUnordered)
			}
		}
	}
	if p.m != nil {
		p.m.rebalances.Inc()
	}
	p.log.Debug("partitions assigned", "partitions", m)
}

func (p *Processor) onRevoked(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	p.release(ctx, m, false)
}

func (p *Processor) onLost(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	p.release(ctx, m, true)
}

// release stops the given partitions: nothing new starts, in-flight
// executions get DrainTimeout to finish, the finished prefix is committed
// (unless the partitions were lost), then the partitions are detached: the
// records they still hold leave the in-flight count, uncommitted, for the
// partitions' next owner. It returns within DrainTimeout plus one bounded
// commit whatever the executions do.
func (p *Processor) release(ctx context.Context, m map[string][]int32, lost bool) {
	var parts []*partition
	var idles []chan struct{}
	p.assignMu.Lock()
	for t, ps := range m {
		for _, id := range ps {
			k := tp{t, id}
			part := p.parts[k]
			if part == nil {
				continue
			}
			delete(p.parts, k)
			part.mu.Lock()
			part.revoked.Store(true)
			idle := make(chan struct{})
			if part.running == 0 {
				close(idle)
			} else {
				part.idle = idle
			}
			part.mu.Unlock()
			parts = append(parts, part)
			idles = append(idles, idle)
		}
	}
	p.assignMu.Unlock()
	if len(parts) == 0 {
		return
	}
	p.syncPause(parts) // resume them in the client: the next assignment must fetch
	if p.tx != nil {
		// exactly once: the open transaction aborts (the session sees
		// the rebalance); nothing is committed outside a transaction
		lost = true
		p.tx.doom(whyReleased)
	}
	if !lost {
		deadline := time.NewTimer(p.o.DrainTimeout)
		defer deadline.Stop()
	wait:
		for _, idle := range idles {
			select {
			case <-idle:
			case <-deadline.C:
				break wait
			}
		}
	}
	abandoned, running := 0, 0
	for _, part := range parts {
		part.stop() // aborts what still runs: its results are not wanted
		part.mu.Lock()
		n, bytes := part.detach()
		running += part.running
		part.mu.Unlock()
		abandoned += n
		p.untrack(n, bytes)
	}
	if !lost {
		p.commit(ctx, parts)
	}
	if abandoned > 0 {
		p.log.Warn("partitions released with unfinished records: they are not committed and will be processed again by the partitions' next owner",
			"partitions", m, "lost", lost, "unfinished", abandoned, "still_running", running, "drain_timeout", p.o.DrainTimeout)
	} else {
		p.log.Debug("partitions released", "partitions", m, "lost", lost)
	}
}
