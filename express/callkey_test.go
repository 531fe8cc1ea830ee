package express_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

// TestCallKey checks the idempotency keys of Task calls: one per Task
// state, Map item, Parallel branch and loop entry, the same for each Retry
// attempt (whose number is Attempt) and for a second run of the same
// execution name.
func TestCallKey(t *testing.T) {
	cases := []struct {
		name, def string
		want      []string // "key attempt", sorted
	}{
		{"top level", `{"StartAt":"Enrich","States":{"Enrich":{"Type":"Task","Resource":"r","Next":"Store"},"Store":{"Type":"Task","Resource":"r","End":true}}}`,
			[]string{"exec/Enrich 0", "exec/Store 0"}},
		{"map items", `{"StartAt":"Process","States":{"Process":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"Enrich","States":{"Enrich":{"Type":"Task","Resource":"r","End":true}}},"End":true}}}`,
			[]string{"exec/Process/0/Enrich 0", "exec/Process/1/Enrich 0", "exec/Process/2/Enrich 0"}},
		{"distributed map", `{"StartAt":"Process","States":{"Process":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"Enrich","States":{"Enrich":{"Type":"Task","Resource":"r","End":true}}},"End":true}}}`,
			[]string{"exec/Process/0/Enrich 0", "exec/Process/1/Enrich 0", "exec/Process/2/Enrich 0"}},
		{"parallel branches", `{"StartAt":"Fan","States":{"Fan":{"Type":"Parallel","Branches":[{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"r","End":true}}},{"StartAt":"Call2","States":{"Call2":{"Type":"Task","Resource":"r","End":true}}}],"End":true}}}`,
			[]string{"exec/Fan/0/Call 0", "exec/Fan/1/Call2 0"}},
		{"map in parallel", `{"StartAt":"Fan","States":{"Fan":{"Type":"Parallel","Branches":[{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"ItemProcessor":{"StartAt":"In","States":{"In":{"Type":"Task","Resource":"r","End":true}}},"End":true}}}],"End":true}}}`,
			[]string{"exec/Fan/0/M/0/In 0", "exec/Fan/0/M/1/In 0", "exec/Fan/0/M/2/In 0"}},
		{"retry keeps the key", `{"StartAt":"Flaky","States":{"Flaky":{"Type":"Task","Resource":"fail-once","Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1}],"End":true}}}`,
			[]string{"exec/Flaky 0", "exec/Flaky 1"}},
		{"loop entries", `{"StartAt":"Poll","States":{"Poll":{"Type":"Task","Resource":"r","ResultPath":null,"Next":"Count"},"Count":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)","items.$":"$.items"},"Next":"Again"},"Again":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThan":3,"Next":"Poll"}],"Default":"Done"},"Done":{"Type":"Succeed"}}}`,
			[]string{"exec/Poll 0", "exec/Poll#2 0", "exec/Poll#3 0"}},
		{"map in a loop", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"ResultPath":null,"ItemProcessor":{"StartAt":"In","States":{"In":{"Type":"Task","Resource":"r","End":true}}},"Next":"Count"},"Count":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)","items.$":"$.items"},"Next":"Again"},"Again":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThan":2,"Next":"M"}],"Default":"Done"},"Done":{"Type":"Succeed"}}}`,
			[]string{"exec/M#2/0/In 0", "exec/M#2/1/In 0", "exec/M#2/2/In 0", "exec/M/0/In 0", "exec/M/1/In 0", "exec/M/2/In 0"}},
		{"names escaped", `{"StartAt":"a/b#c%","States":{"a/b#c%":{"Type":"Task","Resource":"r","End":true}}}`,
			[]string{"exec/a%2Fb%23c%25 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			failed := false
			inv := express.InvokerFunc(func(_ context.Context, req *express.TaskRequest) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				k := req.CallKey()
				if req.CallKey() != k {
					t.Errorf("CallKey changed on a second call")
				}
				got = append(got, k+" "+string(rune('0'+req.Attempt)))
				if req.Resource == "fail-once" && !failed {
					failed = true
					return nil, express.Errorf("Boom", "first attempt")
				}
				return map[string]any{}, nil
			})
			wf := mustCompile(t, c.def, compile.Options{Invoker: inv})
			for run := 0; run < 2; run++ { // a redelivered record: the same keys
				got, failed = nil, false
				res := wf.Execute(context.Background(), map[string]any{"n": int64(0), "items": []any{int64(1), int64(2), int64(3)}},
					express.ExecOptions{Name: "exec", Clock: express.NewVirtualClock(time.Unix(0, 0))})
				if res.Status != express.Succeeded {
					t.Fatalf("run %d: %s %s: %s", run, res.Status, res.Error, res.Cause)
				}
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					t.Fatalf("run %d: keys\n%q\nwant\n%q", run, got, c.want)
				}
			}
		})
	}
}
