package compile

import (
	"strings"
	"time"

	"github.com/stepstream/express/compile/choice"
	"github.com/stepstream/express/express"
)

// isJSONataExpr reports whether a string is a JSONata expression "{% ... %}".
func isJSONataExpr(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(t, "{%") && strings.HasSuffix(t, "%}") && len(t) >= 4
}

func (sc *stateCompiler) jsonataUnsupported() {
	sc.c.problem(sc.ptr, "QueryLanguage JSONata is not supported yet")
}

func (sc *stateCompiler) jsonataFlow(f ioFields) flow {
	sc.jsonataUnsupported()
	return sc.c.pathFlow(map[string]any{}, sc.ptr, f)
}

func (sc *stateCompiler) jsonataFail() { sc.jsonataUnsupported() }

func (sc *stateCompiler) jsonataSeconds(field, expr string) func(s *express.Scope, in any) (time.Duration, error) {
	sc.jsonataUnsupported()
	return nil
}

func (sc *stateCompiler) jsonataRule(obj map[string]any, ptr string) (choice.Cond, func(s *express.Scope, in any) (map[string]any, error), func(s *express.Scope, in any) (any, bool, error)) {
	sc.jsonataUnsupported()
	return nil, nil, nil
}

func (sc *stateCompiler) jsonataWait() func(s *express.Scope, in any) (time.Time, error) {
	sc.jsonataUnsupported()
	return nil
}

func (sc *stateCompiler) jsonataItems() func(s *express.Scope, in, eff any) (any, error) {
	sc.jsonataUnsupported()
	return nil
}

func (sc *stateCompiler) jsonataItemSelector(v any, ptr string) func(s *express.Scope, in, eff any) (any, error) {
	sc.jsonataUnsupported()
	return nil
}

func (sc *stateCompiler) jsonataNumberField(field, expr string) numberField {
	sc.jsonataUnsupported()
	return numberField{}
}
