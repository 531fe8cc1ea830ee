// Package console serves the live web console of `express serve` under /ui
// on the metrics address: one page per workflow with its graph (laid out
// here, drawn as SVG by the embedded script), each state's counters and
// each transition's count, throughput, consumer lag and pool use, the most
// recent failed executions with the path they took and their event
// history, and the most recent dead letters. Everything it serves is
// embedded in the binary; the page makes no request beyond its own
// origin (its Content-Security-Policy says so to the browser).
//
// Where the numbers come from:
//
//   - state counters (entered, succeeded, failed, retried), executions,
//     records in/out/dead-lettered, lag and pool use are read from the
//     Prometheus registry the metrics are kept on (kafka.Metrics and its
//     Hooks), once a second: the console counts none of them again;
//   - transitions per edge: the express.Hooks Transition hook, set only
//     when the console is on (Workflow.Hooks), one atomic add per
//     transition;
//   - state durations (p50/p99) and failed executions' histories: from a
//     rate-limited sample of executions that record their history
//     (Workflow implements kafka.Observer); failures' errors and causes
//     and dead letters are kept in small rings (up to 200 failures and 50
//     dead letters a second are copied there: under a storm the rings
//     would only be overwritten).
//
// The console is read-only: it answers GET and HEAD only.
package console

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultSamplePerSecond = 20
	// SeriesSeconds is how far back the throughput chart goes.
	SeriesSeconds = 300
	// Ring sizes.
	FailuresKept    = 50 // every failure: error and cause
	FailedKept      = 12 // sampled failed executions, with history
	DeadLettersKept = 20
	durationsKept   = 512 // per state, from sampled executions
)

// Options configure a Console.
type Options struct {
	// Gatherer is the registry the daemon's metrics are kept on.
	Gatherer prometheus.Gatherer
	// ExecutionData shows execution inputs and outputs and dead letters'
	// values (the daemon's --log-execution-data); otherwise sampled
	// histories are recorded with History.NoData.
	ExecutionData bool
	// SamplePerSecond bounds the executions per workflow and second that
	// record their history (0: DefaultSamplePerSecond).
	SamplePerSecond int
	// Others lists further state machines to show (those created through
	// the Step Functions API); nil for none.
	Others StateMachines
}

// StateMachines lists state machines the console shows besides the
// daemon's workflows. Implementations must be safe for concurrent use.
type StateMachines interface {
	StateMachines() []StateMachine
}

// StateMachine is one listed state machine, with the API's names.
type StateMachine struct {
	Name            string
	StateMachineArn string
	Type            string // "EXPRESS" or "STANDARD"
	Definition      []byte
	CreationDate    time.Time
}

// Console holds every workflow's recorder and serves the pages. Safe for
// concurrent use.
type Console struct {
	o Options

	mu    sync.RWMutex
	wfs   map[string]*Workflow
	order []string
	last  time.Time
}

// New makes a console; call Run to keep its figures up to date.
func New(o Options) *Console {
	if o.SamplePerSecond <= 0 {
		o.SamplePerSecond = DefaultSamplePerSecond
	}
	return &Console{o: o, wfs: map[string]*Workflow{}}
}

// Workflow returns the recorder of the named workflow, made on first use.
func (c *Console) Workflow(name string) *Workflow {
	// read-locked first: the API asks for its state machines' recorders
	// on every execution
	c.mu.RLock()
	w := c.wfs[name]
	c.mu.RUnlock()
	if w != nil {
		return w
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.wfs[name]; w != nil {
		return w
	}
	w = newWorkflow(c, name)
	c.wfs[name] = w
	c.order = append(c.order, name)
	return w
}

// APIStateMachine returns the recorder of a state machine created through
// the Step Functions API, listed with the source "api", drawn from
// definition (again when the definition changed). Its executions are
// observed as the daemon's (Sample, Executed), with no record.
func (c *Console) APIStateMachine(name, definition string) *Workflow {
	w := c.Workflow(name)
	if w.graph.Load() == nil || w.api.Load() {
		w.api.Store(true)
		if d := w.def.Load(); d == nil || *d != definition {
			if err := w.SetDefinition([]byte(definition)); err == nil {
				w.def.Store(&definition)
			}
		}
	}
	return w
}

func (c *Console) workflow(name string) *Workflow {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wfs[name]
}

func (c *Console) workflows() []*Workflow {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Workflow, 0, len(c.order))
	for _, n := range c.order {
		out = append(out, c.wfs[n])
	}
	return out
}

// Run refreshes the figures once a second (reads the registry, adds a
// point to the throughput series, refills the sampling budgets) until ctx
// is done.
func (c *Console) Run(ctx context.Context) {
	c.Tick(time.Now())
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.Tick(now)
		}
	}
}

// Tick does one refresh (Run calls it every second).
func (c *Console) Tick(now time.Time) {
	fams := c.gather()
	c.mu.Lock()
	c.last = now
	c.mu.Unlock()
	for _, w := range c.workflows() {
		w.refill()
		w.refresh(now, fams)
	}
}
