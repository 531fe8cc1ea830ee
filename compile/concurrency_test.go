package compile

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// TestConcurrentExecutions runs one compiled workflow from many goroutines
// at once, with shared input values, Map and Parallel branches, variables
// and in-place ResultPath reuse: every execution must produce its own
// correct output (run with -race in CI).
func TestConcurrentExecutions(t *testing.T) {
	def := `{"StartAt":"Norm","States":{
		"Norm":{"Type":"Pass","Parameters":{"id.$":"$.id","xs.$":"$.xs","k.$":"States.Format('{}-{}', $.id, $.tag)"},"Assign":{"tag.$":"$$.Execution.Input.tag"},"Next":"Enrich"},
		"Enrich":{"Type":"Task","Resource":"r","Parameters":{"id.$":"$.id"},"ResultPath":"$.meta","Next":"Fan"},
		"Fan":{"Type":"Parallel","ResultPath":"$.par","Next":"Each","Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"t.$":"$tag","id.$":"$.id"},"End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"r","Parameters":{"id.$":"$.id"},"End":true}}}]},
		"Each":{"Type":"Map","ItemsPath":"$.xs","MaxConcurrency":2,"ResultPath":"$.each","ItemSelector":{"x.$":"$$.Map.Item.Value","id.$":"$.id"},
			"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Parameters":{"id.$":"$.id","x.$":"$.x"},"End":true}}},"Next":"Mark"},
		"Mark":{"Type":"Pass","Result":"done","ResultPath":"$.status","End":true}}}`
	inv := express.InvokerFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
		m := r.Input.(map[string]any)
		return map[string]any{"echo": m["id"], "x": m["x"], "exec": r.Execution}, nil
	})
	wf, err := Compile([]byte(def), Options{Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	shared := []any{int64(1), int64(2), int64(3)}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				in := map[string]any{"id": id, "tag": "t" + id, "xs": shared}
				res := wf.Execute(context.Background(), in, express.ExecOptions{Name: id})
				if res.Status != express.Succeeded {
					t.Errorf("%s: %s %s", id, res.Error, res.Cause)
					return
				}
				want := fmt.Sprintf(`{"id":%q,"xs":[1,2,3],"k":"%s-t%s","meta":{"echo":%q,"x":null,"exec":%q},
					"par":[{"t":"t%s","id":%q},{"echo":%q,"x":null,"exec":%q}],
					"each":[{"echo":%q,"x":1,"exec":%q},{"echo":%q,"x":2,"exec":%q},{"echo":%q,"x":3,"exec":%q}],"status":"done"}`,
					id, id, id, id, id, id, id, id, id, id, id, id, id, id, id)
				wv, err := jsonv.Parse([]byte(want))
				if err != nil {
					t.Error(err)
					return
				}
				if !jsonv.Equal(res.Output, wv) {
					t.Errorf("%s: output %s", id, jsonv.Marshal(res.Output))
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(shared) != 3 || shared[0] != int64(1) {
		t.Errorf("shared input changed: %v", shared)
	}
}
