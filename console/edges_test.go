package console

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

// TestEdgeCountsExact: transitions from executions running at once on
// every P, of two compiled copies of a workflow (two edge tables), along
// edges inside Map iterations too, add up to what a map under a mutex fed
// the same calls counts.
func TestEdgeCountsExact(t *testing.T) {
	def := `{"StartAt":"In","States":{
		"In":{"Type":"Pass","Next":"Route"},
		"Route":{"Type":"Choice","Choices":[{"Variable":"$.ok","BooleanEquals":true,"Next":"Each"}],"Default":"Bad"},
		"Each":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}},"Next":"Good"},
		"Good":{"Type":"Succeed"},
		"Bad":{"Type":"Fail","Error":"Input.Bad"}}}`
	c := New(Options{})
	w := c.Workflow("x")
	var mu sync.Mutex
	ref := map[EdgeCount]int64{}
	hooks := express.Hooks{Transition: func(_ *express.Workflow, from, to *express.State) {
		mu.Lock()
		ref[EdgeCount{From: from.Name, To: to.Name}]++
		mu.Unlock()
	}}
	var wfs []*express.Workflow
	for range 2 {
		wf, err := compile.Compile([]byte(def), compile.Options{Name: "x", Hooks: w.Hooks(hooks)})
		if err != nil {
			t.Fatal(err)
		}
		wfs = append(wfs, wf)
	}
	const goroutines, per = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				in := map[string]any{"ok": i%4 != 0, "items": []any{1, 2}}
				wfs[(g+i)%2].Execute(context.Background(), in, express.ExecOptions{})
			}
		}()
	}
	wg.Wait()
	c.Tick(time.Now())
	got := map[EdgeCount]int64{}
	for _, e := range w.Stats().Edges {
		got[EdgeCount{From: e.From, To: e.To}] = e.Count
	}
	if len(got) != len(ref) || len(ref) != 5 {
		t.Errorf("edges %v, want %v", got, ref)
	}
	for k, n := range ref {
		if got[k] != n {
			t.Errorf("edge %s>%s: %d, want %d", k.From, k.To, got[k], n)
		}
	}
	if ref[EdgeCount{From: "A", To: "B"}] != 2*goroutines*per*3/4 {
		t.Errorf("A>B %d", ref[EdgeCount{From: "A", To: "B"}])
	}
}

// TestEdgeCountsUnplaced: transitions between states no edge table places
// (a machine not built by package compile, or a state of another
// workflow) are counted too.
func TestEdgeCountsUnplaced(t *testing.T) {
	c := New(Options{})
	w := c.Workflow("u")
	h := w.Hooks(express.Hooks{})
	a, b := &express.State{Name: "A"}, &express.State{Name: "B", ID: 1}
	bare := express.NewWorkflow(&express.Machine{States: []*express.State{a, b}}, express.Options{})
	wf, err := compile.Compile([]byte(routeDef), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.Transition(bare, a, b)
	h.Transition(wf, a, b) // not states of wf
	h.Transition(bare, a, b)
	h.Transition(wf, wf.Machine.AllStates[0], wf.Machine.AllStates[1])
	c.Tick(time.Now())
	got := map[string]int64{}
	for _, e := range w.Stats().Edges {
		got[e.From+">"+e.To] = e.Count
	}
	first, second := wf.Machine.AllStates[0].Name, wf.Machine.AllStates[1].Name
	if got["A>B"] != 3 || got[first+">"+second] != 1 || len(got) != 2 {
		t.Errorf("edges %v", got)
	}
}

// BenchmarkTransitionHooks: the Transition calls of one execution of
// the reference IoT workflow's normal path (6 edges), from every P at
// once; cpu-ns/op is the process's CPU time per execution (the machine
// may be shared: wall time says little).
func BenchmarkTransitionHooks(b *testing.B) {
	def, err := os.ReadFile("../kafka/testdata/iot-reference.asl.json")
	if err != nil {
		b.Fatal(err)
	}
	w := New(Options{}).Workflow("iot")
	h := w.Hooks(express.Hooks{})
	wf, err := compile.Compile(def, compile.Options{Name: "iot", Hooks: h})
	if err != nil {
		b.Fatal(err)
	}
	byName := map[string]*express.State{}
	for _, st := range wf.Machine.States {
		byName[st.Name] = st
	}
	var path []*express.State
	for _, n := range []string{"Normalize", "Validate", "Enrich", "CheckThreshold", "Normal", "Emit", "Done"} {
		path = append(path, byName[n])
	}
	b.ReportAllocs()
	t0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for i := 1; i < len(path); i++ {
				h.Transition(wf, path[i-1], path[i])
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-t0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
