package console

import (
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/machtab"
	"github.com/stepstream/express/internal/percpu"
)

// Workflow records what the console shows of one workflow beyond the
// metrics: transitions per edge (Hooks), and sampled executions, failures
// and dead letters (it implements kafka.Observer). Safe for concurrent
// use.
type Workflow struct {
	c    *Console
	name string
	// api is set for a state machine created through the Step Functions
	// API (see Console.APIStateMachine); def is its definition drawn.
	api atomic.Bool
	def atomic.Pointer[string]

	graph atomic.Pointer[graph]

	// Transitions per edge: pairs has the counter of each pair of state
	// names (the totals shown; inserts serialised by edgeMu); the tables
	// of the machines compiled for the workflow (a bounded number, see
	// package machtab) find a state's edges' counters by State.ID.
	// States a table cannot place (a machine not built by package
	// compile) find theirs in pairs.
	tabs   machtab.Tables[express.Machine, edgeTable]
	pairs  cow[[2]string, percpu.Counter]
	cells  percpu.Cells
	edgeMu sync.Mutex

	budget atomic.Int64 // sampled histories left this second
	// failures and dead letters recorded this second: under a storm of
	// them the rings would only be overwritten, so copying stops at a
	// bound a second (failuresPerSecond, deadLettersPerSecond)
	failBudget, dlqBudget atomic.Int64

	mu          sync.Mutex
	figs        *figures
	series      []Point
	edgeSnap    []EdgeCount // read with figs
	prev        *figures
	durations   map[string]*ring[float64]
	failures    ring[Failure]
	failed      ring[FailedExecution]
	deadLetters ring[DeadLetter]
	seq         int64
}

type graph struct {
	model   *Model
	drawing *Drawing
}

// edgeTable places the edges of one compiled workflow: succ[from.ID] are
// the states reached from state from so far, each with the counter of the
// pair of their names (copy-on-write, appended under edgeMu; a state has
// a few successors, so a scan finds one faster than a map lookup). It
// holds no count of its own: dropping it loses none.
type edgeTable struct {
	succ []atomic.Pointer[[]edgeCell]
}

type edgeCell struct {
	to *express.State
	n  percpu.Counter
}

func newWorkflow(c *Console, name string) *Workflow {
	w := &Workflow{c: c, name: name, durations: map[string]*ring[float64]{},
		failures: newRing[Failure](FailuresKept), failed: newRing[FailedExecution](FailedKept), deadLetters: newRing[DeadLetter](DeadLettersKept)}
	w.tabs.New = func(m *express.Machine) edgeTable {
		return edgeTable{succ: make([]atomic.Pointer[[]edgeCell], len(m.AllStates))}
	}
	w.refill()
	return w
}

// Bounds a second of the failures and dead letters copied into the rings.
const (
	failuresPerSecond    = 200
	deadLettersPerSecond = 50
)

// refill resets the per-second budgets (Tick calls it).
func (w *Workflow) refill() {
	w.budget.Store(int64(w.c.o.SamplePerSecond))
	w.failBudget.Store(failuresPerSecond)
	w.dlqBudget.Store(deadLettersPerSecond)
}

// take spends one unit of a budget, if any is left.
func take(b *atomic.Int64) bool { return b.Load() > 0 && b.Add(-1) >= 0 }

// SetDefinition gives the workflow's definition, which the page draws.
func (w *Workflow) SetDefinition(def []byte) error {
	m, err := ModelFromDefinition(def)
	if err != nil {
		return err
	}
	w.graph.Store(&graph{model: m, drawing: Layout(m)})
	return nil
}

// Hooks returns h with the Transition hook that counts the transitions
// along each edge (after h's own Transition, if any).
func (w *Workflow) Hooks(h express.Hooks) express.Hooks {
	prev := h.Transition
	h.Transition = func(wf *express.Workflow, from, to *express.State) {
		if prev != nil {
			prev(wf, from, to)
		}
		w.transition(wf, from, to)
	}
	return h
}

// transition counts one transition: by the states' IDs in the table of
// wf's machine, without a map lookup or a write shared between cores
// (the counters are per P, see package percpu).
func (w *Workflow) transition(wf *express.Workflow, from, to *express.State) {
	t := w.tabs.Cur()
	if t == nil || t.M != wf.Machine {
		t = w.tabs.Get(wf.Machine)
	}
	if all := t.M.AllStates; from.ID >= 0 && from.ID < len(all) && all[from.ID] == from {
		if p := t.T.succ[from.ID].Load(); p != nil {
			for i := range *p {
				if c := &(*p)[i]; c.to == to {
					c.n.Inc()
					return
				}
			}
		}
		w.newEdge(&t.T, from, to).Inc()
		return
	}
	w.pair(from.Name, to.Name).Inc()
}

// pair returns the counter of the transitions from the states named from
// to those named to, made on first use.
func (w *Workflow) pair(from, to string) percpu.Counter {
	k := [2]string{from, to}
	if c, ok := w.pairs.get(k); ok {
		return c
	}
	w.edgeMu.Lock()
	defer w.edgeMu.Unlock()
	return w.pairLocked(k)
}

// pairLocked is pair with edgeMu held.
func (w *Workflow) pairLocked(k [2]string) percpu.Counter {
	if c, ok := w.pairs.get(k); ok {
		return c
	}
	return w.pairs.put(k, w.cells.New())
}

// newEdge returns the counter of the edge from→to of t, adding it.
func (w *Workflow) newEdge(t *edgeTable, from, to *express.State) percpu.Counter {
	w.edgeMu.Lock()
	defer w.edgeMu.Unlock()
	var cur []edgeCell
	if p := t.succ[from.ID].Load(); p != nil {
		cur = *p
	}
	for _, c := range cur {
		if c.to == to {
			return c.n
		}
	}
	next := append(slices.Clip(cur), edgeCell{to: to, n: w.pairLocked([2]string{from.Name, to.Name})})
	t.succ[from.ID].Store(&next)
	return next[len(next)-1].n
}

// Sample implements kafka.Observer: at most SamplePerSecond executions a
// second record their history.
func (w *Workflow) Sample() *express.History {
	if !take(&w.budget) {
		return nil
	}
	return &express.History{NoData: !w.c.o.ExecutionData}
}

// Failure is one failed execution's error and cause.
type Failure struct {
	Time      time.Time `json:"time"`
	Execution string    `json:"execution"`
	Status    string    `json:"status"`
	Error     string    `json:"error"`
	Cause     string    `json:"cause"`
	State     string    `json:"state,omitempty"`
	Topic     string    `json:"topic,omitempty"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
}

// FailedExecution is a sampled failed execution with its history.
type FailedExecution struct {
	ID int64 `json:"id"`
	Failure
	// Path are the states entered, in order; Failed the state whose
	// failure ended the execution.
	Path   []string          `json:"path"`
	Events []json.RawMessage `json:"events"`
	// Input is the execution's input, when execution data is shown.
	Input *string `json:"input,omitempty"`
}

// DeadLetter is an acknowledged dead letter.
type DeadLetter struct {
	Time      time.Time `json:"time"`
	Topic     string    `json:"topic"`
	Key       string    `json:"key"`
	Headers   []Header  `json:"headers"`
	Value     *string   `json:"value,omitempty"`
	Truncated bool      `json:"truncated,omitempty"`
}

// Header is a Kafka record header.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

const (
	maxShownValue = 4096 // bytes of a dead letter's value shown
	maxEvents     = 1000 // history events kept of a failed execution
)

// Executed implements kafka.Observer.
func (w *Workflow) Executed(rec *kgo.Record, res *express.Result, h *express.History) {
	failed := res.Status != express.Succeeded && take(&w.failBudget)
	if h == nil && !failed {
		return
	}
	var durs map[string][]float64
	var fe *FailedExecution
	f := Failure{Time: res.Stop, Execution: res.Name, Status: string(res.Status), Error: res.Error, Cause: res.Cause, State: res.State}
	if rec != nil {
		f.Topic, f.Partition, f.Offset = rec.Topic, rec.Partition, rec.Offset
	}
	if h != nil {
		evs := h.Events()
		durs = durationsOf(evs)
		if res.Status != express.Succeeded {
			fe = &FailedExecution{Failure: f}
			for _, e := range evs {
				b, err := e.MarshalJSON()
				if err == nil && len(fe.Events) < maxEvents {
					fe.Events = append(fe.Events, b)
				}
				if e.Details != nil && e.DetailsKey == "stateEnteredEventDetails" {
					fe.Path = append(fe.Path, e.Details.Name)
				}
				if e.Type == "ExecutionStarted" && e.Details != nil {
					fe.Input = e.Details.Input
				}
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for s, ds := range durs {
		r := w.durations[s]
		if r == nil {
			if len(w.durations) >= 4096 {
				continue
			}
			r = ptr(newRing[float64](durationsKept))
			w.durations[s] = r
		}
		for _, d := range ds {
			r.add(d)
		}
	}
	if failed {
		w.failures.add(f)
	}
	if fe != nil {
		w.seq++
		fe.ID = w.seq
		w.failed.add(*fe)
	}
}

func ptr[T any](v T) *T { return &v }

// durationsOf pairs each StateEntered event with the next StateExited of
// the same state and returns the seconds between them, per state.
func durationsOf(evs []express.HistoryEvent) map[string][]float64 {
	open := map[string][]time.Time{}
	out := map[string][]float64{}
	for _, e := range evs {
		if e.Details == nil {
			continue
		}
		switch e.DetailsKey {
		case "stateEnteredEventDetails":
			open[e.Details.Name] = append(open[e.Details.Name], e.Timestamp)
		case "stateExitedEventDetails":
			q := open[e.Details.Name]
			if len(q) == 0 {
				continue
			}
			out[e.Details.Name] = append(out[e.Details.Name], e.Timestamp.Sub(q[0]).Seconds())
			open[e.Details.Name] = q[1:]
		}
	}
	return out
}

// DeadLettered implements kafka.Observer.
func (w *Workflow) DeadLettered(dl *kgo.Record) {
	if !take(&w.dlqBudget) {
		return
	}
	d := DeadLetter{Time: time.Now(), Topic: dl.Topic, Key: string(dl.Key)}
	for _, h := range dl.Headers {
		d.Headers = append(d.Headers, Header{Key: h.Key, Value: string(h.Value)})
	}
	if w.c.o.ExecutionData {
		v := dl.Value
		if len(v) > maxShownValue {
			v, d.Truncated = v[:maxShownValue], true
		}
		s := string(v)
		d.Value = &s
	}
	w.mu.Lock()
	w.deadLetters.add(d)
	w.mu.Unlock()
}

// Point is one second of the throughput chart, in records per second.
type Point struct {
	Time int64   `json:"t"` // unix milliseconds
	In   float64 `json:"in"`
	Out  float64 `json:"out"`
	DLQ  float64 `json:"dlq"`
}

// refresh takes this second's figures.
func (w *Workflow) refresh(now time.Time, fams map[string]*figures) {
	f := fams[w.name]
	if f == nil {
		f = newFigures()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.prev; p != nil {
		w.series = append(w.series, Point{Time: now.UnixMilli(), In: max(f.in-p.in, 0), Out: max(f.out-p.out, 0), DLQ: max(f.dlq-p.dlq, 0)})
		if len(w.series) > SeriesSeconds {
			w.series = slices.Delete(w.series, 0, len(w.series)-SeriesSeconds)
		}
	}
	w.prev, w.figs = f, f
	w.edgeSnap = w.edgeCounts()
}

// edgeCounts reads the transition counters, per pair of state names.
func (w *Workflow) edgeCounts() []EdgeCount {
	pairs := w.pairs.all()
	out := make([]EdgeCount, 0, len(pairs))
	for k, n := range pairs {
		if v := n.Load(); v > 0 {
			out = append(out, EdgeCount{From: k[0], To: k[1], Count: int64(v)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}

// StateFigures are one state's counters.
type StateFigures struct {
	Entered   float64 `json:"entered"`
	Succeeded float64 `json:"succeeded"`
	Failed    float64 `json:"failed"`
	Retried   float64 `json:"retried"`
	// P50 and P99 are seconds, over the last sampled executions; Samples
	// says how many (0: no figure).
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Samples int     `json:"samples"`
}

// EdgeCount is the number of transitions along an edge.
type EdgeCount struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int64  `json:"count"`
}

// Stats is what the page shows of a workflow, refreshed every second.
type Stats struct {
	Workflow    string                   `json:"workflow"`
	Time        int64                    `json:"time"` // of the registry reading, unix ms
	States      map[string]*StateFigures `json:"states"`
	Edges       []EdgeCount              `json:"edges"`
	Executions  map[string]float64       `json:"executions"`
	In          float64                  `json:"in"`
	Out         float64                  `json:"out"`
	DLQ         float64                  `json:"dlq"`
	Series      []Point                  `json:"series"`
	Lag         []Lag                    `json:"lag"`
	Pool        Pool                     `json:"pool"`
	Failures    []Failure                `json:"failures"`
	Failed      []FailedExecution        `json:"failed"`
	DeadLetters []DeadLetter             `json:"deadLetters"`
	Data        bool                     `json:"data"`
	SampleRate  int                      `json:"sampleRate"`
}

// Stats returns the workflow's current figures.
func (w *Workflow) Stats() *Stats {
	c := w.c
	c.mu.Lock()
	at := c.last
	c.mu.Unlock()
	s := &Stats{Workflow: w.name, Time: at.UnixMilli(), States: map[string]*StateFigures{}, Data: c.o.ExecutionData, SampleRate: c.o.SamplePerSecond}
	if g := w.graph.Load(); g != nil {
		for _, n := range g.model.Nodes {
			s.States[n.Name] = &StateFigures{}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s.Edges = w.edgeSnap
	state := func(n string) *StateFigures {
		sf := s.States[n]
		if sf == nil {
			sf = &StateFigures{}
			s.States[n] = sf
		}
		return sf
	}
	if f := w.figs; f != nil {
		for n, v := range f.exits {
			sf := state(n)
			sf.Entered = v
			sf.Succeeded = v - f.errors[n]
		}
		for n, v := range f.errors {
			state(n).Failed = v
		}
		for n, v := range f.retries {
			state(n).Retried = v
		}
		s.Executions, s.In, s.Out, s.DLQ, s.Lag, s.Pool = f.executions, f.in, f.out, f.dlq, f.lag, f.pool
	}
	for n, r := range w.durations {
		ds := r.items()
		if len(ds) == 0 {
			continue
		}
		sort.Float64s(ds)
		sf := state(n)
		sf.Samples = len(ds)
		sf.P50 = ds[(len(ds)-1)*50/100]
		sf.P99 = ds[(len(ds)-1)*99/100]
	}
	s.Series = slices.Clone(w.series)
	s.Failures = w.failures.newestFirst()
	s.Failed = w.failed.newestFirst()
	s.DeadLetters = w.deadLetters.newestFirst()
	return s
}

// ring keeps the last n values added.
type ring[T any] struct {
	buf  []T
	next int
	full bool
}

func newRing[T any](n int) ring[T] { return ring[T]{buf: make([]T, n)} }

func (r *ring[T]) add(v T) {
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

func (r *ring[T]) items() []T {
	if !r.full {
		return slices.Clone(r.buf[:r.next])
	}
	return append(slices.Clone(r.buf[r.next:]), r.buf[:r.next]...)
}

func (r *ring[T]) newestFirst() []T {
	out := r.items()
	slices.Reverse(out)
	return out
}

// cow is a copy-on-write map: lock-free reads, inserts serialised by the
// caller.
type cow[K comparable, V any] struct{ p atomic.Pointer[map[K]V] }

func (c *cow[K, V]) get(k K) (V, bool) {
	if m := c.p.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

func (c *cow[K, V]) all() map[K]V {
	if m := c.p.Load(); m != nil {
		return *m
	}
	return nil
}

func (c *cow[K, V]) put(k K, v V) V {
	old := c.p.Load()
	n := map[K]V{}
	if old != nil {
		if cur, ok := (*old)[k]; ok {
			return cur
		}
		for kk, vv := range *old {
			n[kk] = vv
		}
	}
	n[k] = v
	c.p.Store(&n)
	return v
}
