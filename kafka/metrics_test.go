package kafka

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

// stateDef has a state name ("Fine") both at the top and inside the Map's
// iterations, a Fail whose error name comes from the input, and a Catch.
const stateDef = `{"StartAt":"Each","States":{
	"Each":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"Check","States":{
		"Check":{"Type":"Choice","Choices":[{"Variable":"$.bad","IsPresent":true,"Next":"Boom"}],"Default":"Fine"},
		"Boom":{"Type":"Fail","ErrorPath":"$.bad","Cause":"bad item"},
		"Fine":{"Type":"Pass","End":true}}},
	"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Fine"}],"Next":"Fine"},
	"Fine":{"Type":"Succeed"}}}`

// refCounts is the obvious implementation of the state metrics: a map
// under a mutex, fed by the same StateDone calls.
type refCounts struct {
	mu    sync.Mutex
	exits map[string]int
	errs  map[[2]string]int
}

func (r *refCounts) hooks(h express.Hooks) express.Hooks {
	inner := h.StateDone
	h.StateDone = func(wf *express.Workflow, st *express.State, err *express.Error) {
		inner(wf, st, err)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.exits[st.Name]++
		if err != nil {
			r.errs[[2]string{st.Name, err.Name}]++
		}
	}
	return h
}

// familiesText returns the named metric families of g in the text
// exposition format.
func familiesText(t *testing.T, g prometheus.Gatherer, names ...string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if slices.Contains(names, mf.GetName()) {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.String()
}

func stateInput(i int) map[string]any {
	items := []any{map[string]any{}, map[string]any{}}
	if i%3 == 0 {
		items = append(items, map[string]any{"bad": fmt.Sprintf("E%d", i%2)})
	}
	return map[string]any{"items": items}
}

// TestStateMetrics: state exits and errors are counted exactly, from
// executions running at once on every P, summed by state name (the two
// states named Fine are one series), and two Hooks calls for the same
// workflow add up; the exposition is testdata/state-metrics.txt (names,
// help and labels as the counter vectors these replace gave; the errors
// the Map's Catcher took count on Each, as the help text says, which
// the engine did not report before).
func TestStateMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ref := &refCounts{exits: map[string]int{}, errs: map[[2]string]int{}}
	var wfs []*express.Workflow
	for range 2 { // two compiled copies, each with its own Hooks call
		wf, err := compile.Compile([]byte(stateDef), compile.Options{Name: "st", Hooks: ref.hooks(m.Hooks("st"))})
		if err != nil {
			t.Fatal(err)
		}
		wfs = append(wfs, wf)
	}
	const goroutines, per = 8, 150
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				res := wfs[(g+i)%2].Execute(context.Background(), stateInput(i), express.ExecOptions{})
				if res.Status != express.Succeeded {
					t.Errorf("execution %s: %s %s", res.Status, res.Error, res.Cause)
				}
			}
		}()
	}
	wg.Wait()
	text := gatherText(t, reg)
	series := 0
	for name, n := range ref.exits {
		want := fmt.Sprintf("express_state_exits_total{state=%q,workflow=\"st\"} %d\n", name, n)
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
		series++
	}
	for k, n := range ref.errs {
		want := fmt.Sprintf("express_state_errors_total{error=%q,state=%q,workflow=\"st\"} %d\n", k[1], k[0], n)
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
		series++
	}
	if got := strings.Count(text, "express_state_exits_total{") + strings.Count(text, "express_state_errors_total{"); got != series {
		t.Errorf("%d state series, want %d:\n%s", got, series, text)
	}
	golden, err := os.ReadFile("testdata/state-metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := familiesText(t, reg, "express_state_exits_total", "express_state_errors_total"); got != string(golden) {
		t.Errorf("exposition:\n%s\nwant (testdata/state-metrics.txt):\n%s", got, golden)
	}
}

// TestStateErrorLabels: past MaxErrorLabels distinct error names in a
// workflow, further names are counted under error="other".
func TestStateErrorLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compile.Compile([]byte(`{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e"}}}`),
		compile.Options{Name: "lab", Hooks: m.Hooks("lab")})
	if err != nil {
		t.Fatal(err)
	}
	const extra = 5
	for i := range MaxErrorLabels + extra {
		for range 2 {
			wf.Execute(context.Background(), map[string]any{"e": fmt.Sprintf("E%02d", i)}, express.ExecOptions{})
		}
	}
	text := gatherText(t, reg)
	for i := range MaxErrorLabels {
		if want := fmt.Sprintf("express_state_errors_total{error=\"E%02d\",state=\"F\",workflow=\"lab\"} 2\n", i); !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("express_state_errors_total{error=\"other\",state=\"F\",workflow=\"lab\"} %d\n", 2*extra),
		fmt.Sprintf("express_state_exits_total{state=\"F\",workflow=\"lab\"} %d\n", 2*(MaxErrorLabels+extra)),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(text, "express_state_errors_total{"); n != MaxErrorLabels+1 {
		t.Errorf("%d error series, want %d", n, MaxErrorLabels+1)
	}
}

// TestStateMetricsUnplaced: a machine not built by package compile (no
// AllStates) and a state not of the workflow's machine (its ID placing
// another state) are still counted, by name.
func TestStateMetricsUnplaced(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Hooks("u")
	bare := express.NewWorkflow(&express.Machine{}, express.Options{Name: "u"})
	wf, err := compile.Compile([]byte(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`), compile.Options{Name: "u"})
	if err != nil {
		t.Fatal(err)
	}
	x := &express.State{Name: "X", Type: "Pass"} // ID 0, which is A in wf
	h.StateDone(bare, x, nil)
	h.StateDone(wf, x, &express.Error{Name: "E"}) // not a state of wf
	h.StateDone(wf, wf.Machine.AllStates[0], nil) // A
	h.StateDone(bare, x, nil)
	text := gatherText(t, reg)
	for _, want := range []string{
		"express_state_exits_total{state=\"X\",workflow=\"u\"} 3\n",
		"express_state_errors_total{error=\"E\",state=\"X\",workflow=\"u\"} 1\n",
		"express_state_exits_total{state=\"A\",workflow=\"u\"} 1\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
}

// iotPath are the states of the reference workflow's normal path, in
// order: one execution's StateDone calls.
var iotPath = []string{"Normalize", "Validate", "Enrich", "CheckThreshold", "Normal", "Emit", "Done"}

// BenchmarkStateHooks: the StateDone calls of one execution of the
// reference workflow (7 states), from every P at once; cpu-ns/op is the
// process's CPU time per execution (the machine may be shared: wall time
// says little).
func BenchmarkStateHooks(b *testing.B) {
	def, err := os.ReadFile("testdata/iot-reference.asl.json")
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	h := m.Hooks("iot")
	wf, err := compile.Compile(def, compile.Options{Name: "iot", Hooks: h})
	if err != nil {
		b.Fatal(err)
	}
	byName := map[string]*express.State{}
	for _, st := range wf.Machine.States {
		byName[st.Name] = st
	}
	var path []*express.State
	for _, n := range iotPath {
		path = append(path, byName[n])
	}
	b.ReportAllocs()
	t0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, st := range path {
				h.StateDone(wf, st, nil)
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-t0)/float64(b.N), "cpu-ns/op")
}
