package intrinsic_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

// TestBuildLimit: a JSONPath loop whose intrinsic functions build a few
// megabytes per iteration fails with States.Runtime once the execution has
// built more than its limit, without allocating much more than the limit;
// ordinary use of the functions is far below it.
func TestBuildLimit(t *testing.T) {
	const limit = 8 << 20
	for _, tc := range []struct{ name, expr string }{
		{"Format", "States.Format('{}{}{}{}', $.s, $.s, $.s, $.s)"},
		{"StringSplit", "States.StringSplit($.s, ',')"},
		{"StringToJson", "States.StringToJson($.json)"},
		{"JsonToString", "States.JsonToString($.obj)"},
		{"ArrayRange", "States.ArrayRange(1, 1000, 1)"},
		{"ArrayPartition", "States.ArrayPartition($.arr, 1)"},
		{"ArrayUnique", "States.ArrayUnique($.arr)"},
		{"JsonMerge", "States.JsonMerge($.obj, $.obj, false)"},
		{"Base64Encode", "States.Base64Encode($.short)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := `{
			  "StartAt": "Init",
			  "States": {
			    "Init": {"Type": "Pass", "Parameters": {"i": 0}, "ResultPath": "$.loop", "Next": "Work"},
			    "Work": {
			      "Type": "Pass",
			      "Parameters": {"i.$": "States.MathAdd($.loop.i, 1)", "n.$": "States.ArrayLength(States.Array(` + tc.expr + `))"},
			      "ResultPath": "$.loop",
			      "Next": "Loop"
			    },
			    "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.loop.i", "NumericLessThan": 100000, "Next": "Work"}], "Default": "Done"},
			    "Done": {"Type": "Succeed"}
			  }
			}`
			wf, err := compile.Compile([]byte(def), compile.Options{Name: "build"})
			if err != nil {
				t.Fatal(err)
			}
			wf = wf.WithMaxBuildBytes(limit)
			var arr []any
			obj := map[string]any{}
			for i := range 2000 {
				arr = append(arr, int64(i))
				obj[strings.Repeat("k", i%50)+string(rune('a'+i%26))] = int64(i)
			}
			in := map[string]any{
				"s":     strings.Repeat("a,", 25_000),
				"json":  "[" + strings.Repeat(`{"a":[1,2,3]},`, 5000) + "1]",
				"arr":   arr,
				"obj":   obj,
				"short": strings.Repeat("x", 9000),
			}
			var res express.Result
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res = wf.Execute(context.Background(), in, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
			runtime.ReadMemStats(&after)
			if res.Status != express.Failed || res.Error != express.ErrRuntime || res.State != "Work" {
				t.Fatalf("status %s, error %s (%s) in %q after %d transitions; want FAILED with States.Runtime in Work", res.Status, res.Error, res.Cause, res.State, res.Transitions)
			}
			for _, want := range []string{
				"An error occurred while executing the state 'Work' (entered at the event id #",
				"The function 'States.ArrayLength(States.Array(" + tc.expr + "))' had the following error: ",
				"The execution exceeded its memory limit: its JSONata expressions and intrinsic functions built more than 8388608 bytes (8 MiB)",
			} {
				if !strings.Contains(res.Cause, want) {
					t.Errorf("cause %q\nlacks %q", res.Cause, want)
				}
			}
			if res.Transitions < 4 {
				t.Errorf("failed after %d transitions: one iteration should stay within the limit", res.Transitions)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 2*limit {
				t.Errorf("allocated %d MiB, limit %d MiB", n>>20, limit>>20)
			}
		})
	}
}
