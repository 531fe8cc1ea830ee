package resources

import (
	"context"
	"fmt"
	"strings"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// KindStatic targets, static:JSON, answer every request with a fixed
// result.
const KindStatic Kind = "static"

func init() { RegisterKind(staticKind{}) }

type staticKind struct{}

func (staticKind) Name() Kind { return KindStatic }

func (staticKind) Syntax() Syntax {
	return Syntax{Prefixes: []string{"static:"}, Form: "static:JSON"}
}

func (staticKind) Parse(s string, t *Target) error {
	v, err := jsonv.ParsePlain([]byte(strings.TrimPrefix(s, "static:")))
	if err != nil {
		return fmt.Errorf("the result is not valid JSON: %v", err)
	}
	t.Static = v
	t.Endpoint = &staticTarget{result: v, size: len(jsonv.AppendJSON(nil, v))}
	return nil
}

// staticTarget answers with its result (never modified) and its size as
// compact JSON.
type staticTarget struct {
	result any
	size   int
}

func (s *staticTarget) Send(context.Context, *Config, *express.TaskRequest, Message) (Reply, error) {
	return Reply{Result: s.result, Size: s.size}, nil
}

// Inline reports true: the result is there at once.
func (*staticTarget) Inline() bool { return true }

// AcceptsObjects reports true: the input is ignored.
func (*staticTarget) AcceptsObjects() bool { return true }
