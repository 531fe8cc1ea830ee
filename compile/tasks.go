package compile

import (
	"maps"
	"slices"
	"strconv"

	"github.com/stepstream/express/compile/diag"
)

// TaskRef is one Task state of a parsed definition, as written: where it
// is and what it calls. Tools that check a definition against resource
// mappings (validate --config, run, test) read these.
type TaskRef struct {
	// State is the state's name; Pointer the JSON pointer of the state
	// (/States/Enrich, /States/Fan/Branches/0/States/Call).
	State   string
	Pointer string
	// Resource is the Task's Resource string ("" when it is missing or not
	// a string).
	Resource string
	// Params is the Task's Parameters (JSONPath) or Arguments (JSONata)
	// object, nil when absent or not an object; ParamsField says which.
	Params      map[string]any
	ParamsField string
}

// Tasks lists the Task states of a definition parsed by Parse, nested
// ones (Parallel branches, Map item processors) included, in a stable
// order. It checks nothing: a malformed definition yields what can be
// read of it.
func Tasks(doc any) []TaskRef {
	var out []TaskRef
	tasksIn(doc, "", &out)
	return out
}

func tasksIn(def any, ptr string, out *[]TaskRef) {
	m, _ := def.(map[string]any)
	states, _ := m["States"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(states)) {
		o, _ := states[name].(map[string]any)
		sptr := diag.Pointer(ptr, "States", name)
		switch o["Type"] {
		case "Task":
			t := TaskRef{State: name, Pointer: sptr}
			t.Resource, _ = o["Resource"].(string)
			for _, f := range []string{"Parameters", "Arguments"} {
				if p, ok := o[f].(map[string]any); ok {
					t.Params, t.ParamsField = p, f
					break
				}
			}
			*out = append(*out, t)
		case "Parallel":
			branches, _ := o["Branches"].([]any)
			for i, b := range branches {
				tasksIn(b, diag.Pointer(sptr, "Branches", strconv.Itoa(i)), out)
			}
		case "Map":
			for _, f := range []string{"ItemProcessor", "Iterator"} {
				if p, ok := o[f]; ok {
					tasksIn(p, diag.Pointer(sptr, f), out)
				}
			}
		}
	}
}
