package kafka

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/machtab"
	"github.com/stepstream/express/internal/percpu"
)

// Metrics holds the Prometheus metrics of every Processor given it (see the
// package documentation for the list). It registers on the registry it is
// given, never on the global one. Safe for concurrent use.
type Metrics struct {
	executions    *prometheus.CounterVec
	duration      *durationVec
	transitions   *prometheus.CounterVec
	taskDuration  *durationVec
	taskErrors    *prometheus.CounterVec
	retries       *prometheus.CounterVec
	consumed      *prometheus.CounterVec
	output        *prometheus.CounterVec
	dlq           *prometheus.CounterVec
	dedup         *prometheus.CounterVec
	commits       *prometheus.CounterVec
	produceErrors *prometheus.CounterVec
	dlqTruncated  *prometheus.CounterVec
	rebalances    *prometheus.CounterVec
	txns          *prometheus.CounterVec
	txnDuration   *prometheus.HistogramVec
	txnRecords    *prometheus.HistogramVec

	mu     sync.Mutex
	procs  []*Processor
	states map[string]*stateCounts // by workflow: every Hooks call of a name shares one
	cells  percpu.Cells

	stateExitsDesc, stateErrorsDesc *prometheus.Desc

	inflightDesc, inflightBytesDesc, poolRunningDesc, poolBusyDesc, poolCapDesc, poolQueuedDesc, lagDesc, lagSecondsDesc, oldestDesc, assignedDesc, pausedDesc *prometheus.Desc
}

// MaxErrorLabels bounds the distinct error names of
// express_state_errors_total per workflow; further names are counted
// under error="other".
const MaxErrorLabels = 64

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	wf := []string{"workflow"}
	durBuckets := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	m := &Metrics{
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_executions_total",
			Help: "Executions finished, by workflow and final status."}, []string{"workflow", "status"}),
		duration: newDurationVec("express_execution_duration_seconds", "Execution duration.", durBuckets, wf...),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_state_transitions_total",
			Help: "States entered."}, wf),
		taskDuration: newDurationVec("express_task_duration_seconds", "Task invocation latency, per attempt.", durBuckets, "workflow", "resource"),
		taskErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_task_errors_total",
			Help: "Task invocation attempts that failed."}, []string{"workflow", "resource"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_retries_total",
			Help: "Retries scheduled by Retry rules."}, []string{"workflow", "state"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_records_consumed_total",
			Help: "Records fetched and taken in (admitted, or held while their partition has MaxInFlightPerPartition admitted)."}, wf),
		output: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_output_records_total",
			Help: "Output records acknowledged by the broker."}, wf),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_dlq_records_total",
			Help: "Records sent to the dead-letter topic, by reason (failed, timed_out, aborted, rejected)."}, []string{"workflow", "reason"}),
		dedup: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_dedup_hits_total",
			Help: "Records not executed because of their idempotency key: skipped (completed recently) or coalesced (same key running)."}, []string{"workflow", "kind"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_commits_total",
			Help: "Offset commits, by result (ok, error)."}, []string{"workflow", "result"}),
		produceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_produce_errors_total",
			Help: "Output or DLQ produces that failed and were retried or redirected."}, wf),
		dlqTruncated: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_dlq_truncated_total",
			Help: "Dead letters the broker refused as too large, sent truncated (result: truncated; gave_up when even the headers alone were refused and the record was committed without a dead letter)."}, []string{"workflow", "result"}),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_rebalances_total",
			Help: "Partition assignments received."}, wf),
		stateExitsDesc: prometheus.NewDesc("express_state_exits_total",
			"States finished, successfully or not, by state name (via Metrics.Hooks).", []string{"workflow", "state"}, nil),
		stateErrorsDesc: prometheus.NewDesc("express_state_errors_total",
			"States that ended with an error (caught, retried or not), by state and error name (via Metrics.Hooks).", []string{"workflow", "state", "error"}, nil),
		txns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_transactions_total",
			Help: "Exactly-once transactions ended, by result (committed, aborted)."}, []string{"workflow", "result"}),
		txnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "express_transaction_duration_seconds",
			Help: "Exactly-once committed transactions: time from begin to the end of the commit.", Buckets: []float64{.01, .025, .05, .1, .15, .2, .3, .5, 1, 2.5, 5, 10, 30}}, wf),
		txnRecords: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "express_transaction_records",
			Help: "Exactly-once committed transactions: records consumed in each.", Buckets: []float64{1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000}}, wf),
		inflightDesc:      prometheus.NewDesc("express_inflight_records", "Records fetched and not yet finished (admitted or held).", wf, nil),
		inflightBytesDesc: prometheus.NewDesc("express_inflight_bytes", "Value bytes of the records fetched and not yet finished (bounded by MaxInFlightBytes).", wf, nil),
		poolRunningDesc:   prometheus.NewDesc("express_pool_running", "Pool worker goroutines alive.", wf, nil),
		poolQueuedDesc:    prometheus.NewDesc("express_pool_queued", "Records admitted and waiting for a free worker.", wf, nil),
		poolBusyDesc:      prometheus.NewDesc("express_pool_busy", "Pool workers running executions.", wf, nil),
		poolCapDesc:       prometheus.NewDesc("express_pool_capacity", "Pool size (Concurrency).", wf, nil),
		lagDesc: prometheus.NewDesc("express_consumer_lag", "Records between the commit watermark and the high watermark, per partition.",
			[]string{"workflow", "topic", "partition"}, nil),
		lagSecondsDesc: prometheus.NewDesc("express_consumer_lag_seconds", "Age (now minus record timestamp) of the oldest fetched record not yet finished, per partition; 0 when none is in flight.",
			[]string{"workflow", "topic", "partition"}, nil),
		oldestDesc: prometheus.NewDesc("express_oldest_inflight_seconds", "How long ago the oldest unfinished record of the partition was admitted (0 when none): it holds the partition's commits; in ordering=key mode a key stuck on it holds the partition once MaxInFlightPerPartition records are in flight there.",
			[]string{"workflow", "topic", "partition"}, nil),
		assignedDesc: prometheus.NewDesc("express_partitions_assigned", "Partitions assigned to the processor.", wf, nil),
		pausedDesc:   prometheus.NewDesc("express_partitions_paused", "Assigned partitions whose fetching is paused: MaxInFlightPerPartition records admitted and as many (at most MaxInFlight/4) held.", wf, nil),
	}
	for _, c := range []prometheus.Collector{m.executions, m.duration, m.transitions, m.taskDuration, m.taskErrors,
		m.retries, m.consumed, m.output, m.dlq, m.dedup, m.commits, m.produceErrors, m.dlqTruncated, m.rebalances, m.txns, m.txnDuration, m.txnRecords, (*gauges)(m), (*stateMetrics)(m)} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Hooks returns engine hooks that record task latency, task errors,
// retries and state exits and errors for the named workflow; pass them to
// compile.Options.Hooks. Executions and transitions are counted by the
// Processor itself. Label children are resolved once per resource and
// looked up without locks or allocations afterwards. State exits and
// errors are counted by State.ID in slices resolved once per compiled
// workflow, on per-P counters (package percpu) summed at scrape time:
// no map lookup and no write shared between cores per state.
func (m *Metrics) Hooks(workflow string) express.Hooks {
	var tasks cow[*taskObs]
	var retries cow[prometheus.Counter]
	var mu sync.Mutex // serialises the (rare) inserts
	task := func(resource string) *taskObs {
		if o, ok := tasks.get(resource); ok {
			return o
		}
		mu.Lock()
		defer mu.Unlock()
		return tasks.put(resource, &taskObs{d: m.taskDuration.with(workflow, resource), e: m.taskErrors.WithLabelValues(workflow, resource)})
	}
	sc := m.stateCounts(workflow)
	return express.Hooks{
		TaskDone: func(_ *express.Workflow, _, resource string, d time.Duration, err *express.Error) {
			o := task(resource)
			o.d.Observe(d)
			if err != nil {
				o.e.Inc()
			}
		},
		Retry: func(_ *express.Workflow, name string, _ *express.Error) {
			c, ok := retries.get(name)
			if !ok {
				mu.Lock()
				c = retries.put(name, m.retries.WithLabelValues(workflow, name))
				mu.Unlock()
			}
			c.Inc()
		},
		// StateDone, not StateExit: counting needs no clock reads.
		StateDone: sc.done,
	}
}

// stateCounts returns the state counts of the named workflow, made on
// first use. Every Hooks call of one name shares them: the Step Functions
// API compiles a state machine again (and asks for its hooks) on every
// UpdateStateMachine, and the counts are by name anyway.
func (m *Metrics) stateCounts(workflow string) *stateCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.states[workflow]
	if sc == nil {
		sc = &stateCounts{workflow: workflow, cells: &m.cells, byName: map[string]*stateCell{}, errNames: map[string]bool{}}
		sc.tabs.New = sc.newTable
		if m.states == nil {
			m.states = map[string]*stateCounts{}
		}
		m.states[workflow] = sc
	}
	return sc
}

// stateCounts counts the state exits and errors of one workflow. Its
// cells are per state name (the metrics' label), made on first need and
// never removed; states of the same name share one. The tables of the
// machines compiled for it only point at the cells, so dropping one
// (package machtab keeps a bounded number) loses no count.
type stateCounts struct {
	workflow string
	cells    *percpu.Cells
	tabs     machtab.Tables[express.Machine, stateTable]
	// unplaced finds the cell of a state name no table places (a machine
	// not built by package compile): lock-free reads.
	unplaced cow[*stateCell]

	mu       sync.Mutex // serialises inserts; guards the fields below
	byName   map[string]*stateCell
	errNames map[string]bool // error names with a label of their own (at most MaxErrorLabels)
}

// stateTable places the states of one compiled workflow: cells[id] is the
// cell of the state whose State.ID is id.
type stateTable struct {
	cells []*stateCell
}

// stateCell counts the exits and errors of the states of one name.
type stateCell struct {
	name  string
	exits percpu.Counter
	// errs are the error names seen, each with its label and counter
	// (copy-on-write, appended under stateCounts.mu; a state ends with a
	// few distinct errors, so a scan finds one faster than a map lookup).
	errs atomic.Pointer[[]errCell]
}

type errCell struct {
	name, label string
	n           percpu.Counter
}

// done is the StateDone hook.
func (s *stateCounts) done(wf *express.Workflow, st *express.State, err *express.Error) {
	c := s.cell(wf, st)
	c.exits.Inc()
	if err != nil {
		if p := c.errs.Load(); p != nil {
			for i := range *p {
				if e := &(*p)[i]; e.name == err.Name {
					e.n.Inc()
					return
				}
			}
		}
		s.newErr(c, err.Name).Inc()
	}
}

// cell returns the cell of state st of wf: by st.ID in the table of wf's
// machine when st is the state of that ID there, else by its name.
func (s *stateCounts) cell(wf *express.Workflow, st *express.State) *stateCell {
	t := s.tabs.Cur()
	if t == nil || t.M != wf.Machine {
		t = s.tabs.Get(wf.Machine)
	}
	if id := st.ID; id >= 0 && id < len(t.T.cells) && t.M.AllStates[id] == st {
		return t.T.cells[id]
	}
	if c, ok := s.unplaced.get(st.Name); ok {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unplaced.put(st.Name, s.cellLocked(st.Name))
}

// newTable makes the table of machine m (machtab.Tables.New).
func (s *stateCounts) newTable(m *express.Machine) stateTable {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := stateTable{cells: make([]*stateCell, len(m.AllStates))}
	for id, st := range m.AllStates {
		t.cells[id] = s.cellLocked(st.Name)
	}
	return t
}

// cellLocked returns the cell of the states named name, made if needed;
// s.mu is held.
func (s *stateCounts) cellLocked(name string) *stateCell {
	c := s.byName[name]
	if c == nil {
		c = &stateCell{name: name, exits: s.cells.New()}
		s.byName[name] = c
	}
	return c
}

// newErr returns the counter of error errName of cell c, adding it: its
// label is errName unless MaxErrorLabels other names have one already.
func (s *stateCounts) newErr(c *stateCell, errName string) percpu.Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur []errCell
	if p := c.errs.Load(); p != nil {
		cur = *p
	}
	for _, e := range cur {
		if e.name == errName {
			return e.n
		}
	}
	label := errName
	if !s.errNames[errName] {
		if len(s.errNames) >= MaxErrorLabels {
			label = "other"
		} else {
			s.errNames[errName] = true
		}
	}
	next := append(slices.Clip(cur), errCell{name: errName, label: label, n: s.cells.New()})
	c.errs.Store(&next)
	return next[len(next)-1].n
}

// stateMetrics collects express_state_exits_total and
// express_state_errors_total at scrape time, summing the cells of every
// Hooks call by workflow, state and error label.
type stateMetrics Metrics

// Describe implements prometheus.Collector.
func (c *stateMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.stateExitsDesc
	ch <- c.stateErrorsDesc
}

// Collect implements prometheus.Collector. A series appears once its
// count is above zero, as a counter child made on first increment did.
func (c *stateMetrics) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	all := slices.Collect(maps.Values(c.states))
	c.mu.Unlock()
	exits := map[[2]string]uint64{}
	errs := map[[3]string]uint64{}
	for _, s := range all {
		s.mu.Lock()
		for _, cell := range s.byName {
			exits[[2]string{s.workflow, cell.name}] += cell.exits.Load()
			if p := cell.errs.Load(); p != nil {
				for _, e := range *p {
					errs[[3]string{s.workflow, cell.name, e.label}] += e.n.Load()
				}
			}
		}
		s.mu.Unlock()
	}
	for k, v := range exits {
		if v > 0 {
			ch <- prometheus.MustNewConstMetric(c.stateExitsDesc, prometheus.CounterValue, float64(v), k[0], k[1])
		}
	}
	for k, v := range errs {
		if v > 0 {
			ch <- prometheus.MustNewConstMetric(c.stateErrorsDesc, prometheus.CounterValue, float64(v), k[0], k[1], k[2])
		}
	}
}

type taskObs struct {
	d *percpu.Histogram
	e prometheus.Counter
}

// cow is a copy-on-write map: lock-free reads, inserts serialised by the
// caller. Its key sets are small (resources, states, error names).
type cow[V any] struct{ p atomic.Pointer[map[string]V] }

func (c *cow[V]) get(k string) (V, bool) {
	if m := c.p.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

func (c *cow[V]) len() int {
	if m := c.p.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// put stores v under k unless k is present, and returns the stored value.
func (c *cow[V]) put(k string, v V) V {
	old := c.p.Load()
	if old != nil {
		if cur, ok := (*old)[k]; ok {
			return cur
		}
	}
	n := make(map[string]V, c.len()+1)
	if old != nil {
		for kk, vv := range *old {
			n[kk] = vv
		}
	}
	n[k] = v
	c.p.Store(&n)
	return v
}

// wfMetrics are the children of one workflow, resolved once.
type wfMetrics struct {
	byStatus       map[express.Status]prometheus.Counter
	dlqBy          map[string]prometheus.Counter
	duration       *percpu.Histogram
	transitions    prometheus.Counter
	consumed       prometheus.Counter
	output         prometheus.Counter
	dedupSkipped   prometheus.Counter
	dedupCoalesced prometheus.Counter
	commitsOK      prometheus.Counter
	commitsFailed  prometheus.Counter
	produceErrors  prometheus.Counter
	dlqTruncated   prometheus.Counter
	dlqGaveUp      prometheus.Counter
	rebalances     prometheus.Counter
	txnCommitted   prometheus.Counter
	txnAborted     prometheus.Counter
	txnDuration    prometheus.Observer
	txnRecords     prometheus.Observer
}

func (m *Metrics) workflow(name string, p *Processor) *wfMetrics {
	w := &wfMetrics{
		byStatus:       map[express.Status]prometheus.Counter{},
		dlqBy:          map[string]prometheus.Counter{},
		duration:       m.duration.with(name),
		transitions:    m.transitions.WithLabelValues(name),
		consumed:       m.consumed.WithLabelValues(name),
		output:         m.output.WithLabelValues(name),
		dedupSkipped:   m.dedup.WithLabelValues(name, "skipped"),
		dedupCoalesced: m.dedup.WithLabelValues(name, "coalesced"),
		commitsOK:      m.commits.WithLabelValues(name, "ok"),
		commitsFailed:  m.commits.WithLabelValues(name, "error"),
		produceErrors:  m.produceErrors.WithLabelValues(name),
		dlqTruncated:   m.dlqTruncated.WithLabelValues(name, "truncated"),
		dlqGaveUp:      m.dlqTruncated.WithLabelValues(name, "gave_up"),
		rebalances:     m.rebalances.WithLabelValues(name),
	}
	if p != nil && p.tx != nil {
		w.txnCommitted = m.txns.WithLabelValues(name, "committed")
		w.txnAborted = m.txns.WithLabelValues(name, "aborted")
		w.txnDuration = m.txnDuration.WithLabelValues(name)
		w.txnRecords = m.txnRecords.WithLabelValues(name)
	}
	for _, s := range []express.Status{express.Succeeded, express.Failed, express.TimedOut, express.Aborted} {
		w.byStatus[s] = m.executions.WithLabelValues(name, string(s))
	}
	for _, s := range []string{"FAILED", "TIMED_OUT", "ABORTED", "REJECTED"} {
		w.dlqBy[s] = m.dlq.WithLabelValues(name, strings.ToLower(s))
	}
	m.mu.Lock()
	m.procs = append(m.procs, p)
	m.mu.Unlock()
	return w
}

func (w *wfMetrics) execution(r *express.Result) {
	if c := w.byStatus[r.Status]; c != nil {
		c.Inc()
	}
	w.duration.Observe(r.Stop.Sub(r.Start))
	w.transitions.Add(float64(r.Transitions))
}

func (w *wfMetrics) dlqReason(status string) prometheus.Counter {
	if c := w.dlqBy[status]; c != nil {
		return c
	}
	return w.dlqBy["FAILED"]
}

// gauges collects the values read from processors at scrape time.
type gauges Metrics

// Describe implements prometheus.Collector.
func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.inflightDesc
	ch <- g.inflightBytesDesc
	ch <- g.poolQueuedDesc
	ch <- g.oldestDesc
	ch <- g.poolRunningDesc
	ch <- g.poolCapDesc
	ch <- g.poolBusyDesc
	ch <- g.lagDesc
	ch <- g.lagSecondsDesc
	ch <- g.assignedDesc
	ch <- g.pausedDesc
}

// Collect implements prometheus.Collector.
func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	procs := append([]*Processor(nil), g.procs...)
	g.mu.Unlock()
	for _, p := range procs {
		name := p.wf.Name()
		ch <- prometheus.MustNewConstMetric(g.inflightDesc, prometheus.GaugeValue, float64(p.total.Load()), name)
		ch <- prometheus.MustNewConstMetric(g.inflightBytesDesc, prometheus.GaugeValue, float64(p.bytes.Load()), name)
		w := p.pool
		live, busy, queued := w.live.Load(), w.busy.Load(), int64(w.queued())
		ch <- prometheus.MustNewConstMetric(g.poolRunningDesc, prometheus.GaugeValue, float64(live), name)
		ch <- prometheus.MustNewConstMetric(g.poolBusyDesc, prometheus.GaugeValue, float64(busy), name)
		ch <- prometheus.MustNewConstMetric(g.poolQueuedDesc, prometheus.GaugeValue, float64(queued), name)
		ch <- prometheus.MustNewConstMetric(g.poolCapDesc, prometheus.GaugeValue, float64(p.o.Concurrency), name)
		now, mono := time.Now(), p.monoNow()
		assigned, paused := 0, 0
		p.eachPart(func(part *partition) {
			id := strconv.Itoa(int(part.id))
			ch <- prometheus.MustNewConstMetric(g.lagDesc, prometheus.GaugeValue, float64(part.lag()), name, part.topic, id)
			age, inflight, isPaused := part.oldest(now, mono)
			ch <- prometheus.MustNewConstMetric(g.lagSecondsDesc, prometheus.GaugeValue, age.Seconds(), name, part.topic, id)
			ch <- prometheus.MustNewConstMetric(g.oldestDesc, prometheus.GaugeValue, inflight.Seconds(), name, part.topic, id)
			assigned++
			if isPaused {
				paused++
			}
		})
		ch <- prometheus.MustNewConstMetric(g.assignedDesc, prometheus.GaugeValue, float64(assigned), name)
		ch <- prometheus.MustNewConstMetric(g.pausedDesc, prometheus.GaugeValue, float64(paused), name)
	}
}

// oldest returns, for the oldest fetched unfinished record of the
// partition, its age (now minus its timestamp) and how long ago it was
// admitted (mono minus its admission time, both Processor.monoNow; both 0
// when none), and whether the partition wants to be paused.
func (p *partition) oldest(now time.Time, mono int64) (age, inflight time.Duration, paused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n > 0 {
		if s := p.ring[p.head]; s != nil && s.rec != nil {
			if !s.rec.Timestamp.IsZero() {
				age = max(now.Sub(s.rec.Timestamp), 0)
			}
			inflight = max(time.Duration(mono-s.t0), 0)
		}
	}
	return age, inflight, p.paused
}
