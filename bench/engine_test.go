// Package bench holds the project's throughput benchmarks. Run them with
//
//	go test -run '^$' -bench . -benchmem ./bench/
//
// Each reports custom metrics (records/s, ns/record, allocs/record) besides
// Go's own; BENCHMARKS.md records figures with the commands that made them.
package bench

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/internal/testutil"
)

// sharedBench is ../shared/bench seen from this package.
const sharedBench = "../../shared/bench"

// enrichResult is what the reference workflow's Enrich task returns.
var enrichResult = map[string]any{"site": "plant-1", "threshold": int64(30)}

// enrichResultSize is what an in-process resource with a fixed result can
// tell the engine about its size (see express.TaskRequest.ResultSize).
var enrichResultSize = express.SizeBound(enrichResult)

// enrich is an in-process Task handler: the fastest resource there is, so
// the benchmark measures the engine. Like the daemon's static resources it
// ignores its input, so it accepts the engine's objects as they are.
var enrich = objectsOK{express.InlineFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
	r.ResultSize = enrichResultSize
	return enrichResult, nil
})}

type objectsOK struct{ express.InlineFunc }

func (objectsOK) AcceptsObjectsFor(string) bool { return true }

type reference struct {
	wf       *express.Workflow
	input    []byte
	expected any
}

func loadReference(tb testing.TB) reference {
	tb.Helper()
	def, err := os.ReadFile(sharedBench + "/iot-reference.asl.json")
	if err != nil {
		testutil.Missing(tb, "reference workflow not found (../shared is absent): %v", err)
	}
	wf, err := compile.Compile(def, compile.Options{Name: "iot-reference", Invoker: enrich})
	if err != nil {
		tb.Fatal(err)
	}
	in, err := os.ReadFile(sharedBench + "/iot-reading.json")
	if err != nil {
		tb.Fatal(err)
	}
	exp, err := os.ReadFile(sharedBench + "/iot-expected-output.json")
	if err != nil {
		tb.Fatal(err)
	}
	expected, err := jsonv.Parse(exp)
	if err != nil {
		tb.Fatal(err)
	}
	return reference{wf: wf, input: in, expected: expected}
}

// TestReferenceOutput checks that the reference workflow produces the
// expected output, so the benchmarks measure a correct run.
func TestReferenceOutput(t *testing.T) {
	ref := loadReference(t)
	in, _ := jsonv.Parse(ref.input)
	res := ref.wf.Execute(context.Background(), in, express.ExecOptions{Name: "check"})
	if res.Status != express.Succeeded {
		t.Fatalf("status %s: %s: %s", res.Status, res.Error, res.Cause)
	}
	if !jsonv.Equal(res.Output, ref.expected) {
		t.Fatalf("output %s, want %s", jsonv.Marshal(res.Output), jsonv.Marshal(ref.expected))
	}
	if res.Transitions != 7 {
		t.Errorf("%d states entered, want 7", res.Transitions)
	}
}

// TestReferenceAllocs: an execution of the reference workflow allocates
// its three objects and the States.Format string together (jsonv.Arena):
// one allocation.
func TestReferenceAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under the race detector mean little")
	}
	ref := loadReference(t)
	in, _ := jsonv.Parse(ref.input)
	opts := express.ExecOptions{Name: "allocs", InputSize: len(ref.input), RawOutput: true}
	if n := testing.AllocsPerRun(200, func() { ref.wf.Execute(context.Background(), in, opts) }); n > 1 {
		t.Errorf("%.1f allocations per execution, want 1", n)
	}
	// A caller that releases its results (as the daemon does once it has
	// written the output) has the engine build the next execution's
	// values in their memory: no allocation.
	if n := testing.AllocsPerRun(200, func() {
		res := ref.wf.Execute(context.Background(), in, opts)
		res.Release()
	}); n != 0 {
		t.Errorf("%.1f allocations per released execution, want 0", n)
	}
	// Bytes to bytes, the input parsed in leased memory (ParseLeased) and
	// released with the result: no allocation either.
	var p jsonv.Parser
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(200, func() {
		v, l, _ := p.ParseLeased(ref.input)
		res := ref.wf.Execute(context.Background(), v, opts)
		buf = jsonv.AppendJSON(buf[:0], res.Output)
		if res.Release() {
			l.Release()
		}
	}); n != 0 {
		t.Errorf("%.1f allocations per released record, want 0", n)
	}
}

// TestReleaseHeldRecord: a record whose input and result nobody released
// keeps its output (which shares the input's strings) while other
// goroutines parse, execute, write and release records in memory
// released before (run with -race too).
func TestReleaseHeldRecord(t *testing.T) {
	ref := loadReference(t)
	var p jsonv.Parser
	in, _, err := p.ParseLeased(ref.input) // its lease is never released
	if err != nil {
		t.Fatal(err)
	}
	opts := express.ExecOptions{Name: "held", InputSize: len(ref.input), RawOutput: true}
	held := ref.wf.Execute(context.Background(), in, opts)
	if !jsonv.Equal(held.Output, ref.expected) {
		t.Fatalf("output %s, want %s", jsonv.Marshal(held.Output), jsonv.Marshal(ref.expected))
	}
	want := string(jsonv.AppendJSON(nil, held.Output))
	other := []byte(strings.NewReplacer("dev-42", "dev-77", "roof", "wall", "21.7", "22.5").Replace(string(ref.input)))
	otherWant := strings.NewReplacer("dev-42", "dev-77", "roof", "wall", "21.7", "22.5").Replace(want)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p jsonv.Parser
			var buf []byte
			for i := 0; i < 2000; i++ {
				v, l, err := p.ParseLeased(other)
				if err != nil {
					t.Error(err)
					return
				}
				res := ref.wf.Execute(context.Background(), v, opts)
				if buf = jsonv.AppendJSON(buf[:0], res.Output); string(buf) != otherWant {
					t.Errorf("output %s, want %s", buf, otherWant)
					return
				}
				if !res.Release() {
					t.Error("the reference workflow's values were held elsewhere")
					return
				}
				l.Release()
			}
		}()
	}
	wg.Wait()
	if got := string(jsonv.AppendJSON(nil, held.Output)); got != want {
		t.Fatalf("held output changed: %s", got)
	}
}

// cpuTime is the process's user+system CPU time. On a shared machine the
// wall clock also counts other processes' turns; CPU time per record does
// not, so it is reported next to records/s.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds records/s, ns/record and cpu-ns/record; start is cpuTime()
// taken when the timed loop began.
func report(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/record")
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/record")
}

// BenchmarkEngineIoTReference runs the reference workflow on one goroutine
// with the input already parsed.
func BenchmarkEngineIoTReference(b *testing.B) {
	ref := loadReference(b)
	in, _ := jsonv.Parse(ref.input)
	ctx := context.Background()
	// The reading was parsed from len(ref.input) bytes, which the daemon
	// passes on as the input's size, and so does this benchmark.
	opts := express.ExecOptions{Name: "bench", InputSize: len(ref.input), RawOutput: true}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		res := ref.wf.Execute(ctx, in, opts)
		if res.Status != express.Succeeded {
			b.Fatal(res.Error, res.Cause)
		}
	}
	report(b, cpu0)
}

// BenchmarkEngineIoTReferenceParallel is the same on every core, each
// result released once checked (Result.Release), as the daemon does once
// it has written the output.
func BenchmarkEngineIoTReferenceParallel(b *testing.B) {
	benchEngineParallel(b, true)
}

// BenchmarkEngineIoTReferenceParallelNoRelease keeps every result to the
// collector, as a caller that does not call Result.Release.
func BenchmarkEngineIoTReferenceParallelNoRelease(b *testing.B) {
	benchEngineParallel(b, false)
}

func benchEngineParallel(b *testing.B, release bool) {
	ref := loadReference(b)
	in, _ := jsonv.Parse(ref.input)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		opts := express.ExecOptions{Name: "bench", InputSize: len(ref.input), RawOutput: true}
		for pb.Next() {
			res := ref.wf.Execute(ctx, in, opts)
			if res.Status != express.Succeeded {
				b.Error(res.Error, res.Cause)
				return
			}
			if release {
				res.Release()
			}
		}
	})
	report(b, cpu0)
}

// BenchmarkRecordIoTReference is bytes in, bytes out, as the daemon does per
// record: parse the reading (in leased memory, Parser.ParseLeased),
// execute, serialise the output and release the result and the input
// (Result.Release); on every core.
func BenchmarkRecordIoTReference(b *testing.B) {
	ref := loadReference(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(ref.input)))
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		var p jsonv.Parser
		buf := make([]byte, 0, 512)
		opts := express.ExecOptions{Name: "bench", InputSize: len(ref.input), RawOutput: true}
		for pb.Next() {
			in, inLease, err := p.ParseLeased(ref.input)
			if err != nil {
				b.Error(err)
				return
			}
			res := ref.wf.Execute(ctx, in, opts)
			if res.Status != express.Succeeded {
				b.Error(res.Error, res.Cause)
				return
			}
			if buf = jsonv.AppendJSON(buf[:0], res.Output); len(buf) == 0 {
				b.Error("empty output")
				return
			}
			if res.Release() {
				inLease.Release()
			}
		}
	})
	report(b, cpu0)
}
