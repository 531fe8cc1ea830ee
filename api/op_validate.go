package api

import (
	"context"
	"strings"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
)

func init() { Register(validateStateMachineDefinition{}) }

type validateStateMachineDefinition struct{}

func (validateStateMachineDefinition) Name() string { return "ValidateStateMachineDefinition" }

type validateInput struct {
	Definition *string `json:"definition"`
	Type       *string `json:"type"`
	Severity   *string `json:"severity"`
	MaxResults *int64  `json:"maxResults"`
}

// Diagnostic is one problem of a definition (shape
// ValidateStateMachineDefinitionDiagnostic).
type Diagnostic struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
}

type validateOutput struct {
	Result      string       `json:"result"`
	Diagnostics []Diagnostic `json:"diagnostics"`
	Truncated   bool         `json:"truncated"`
}

// DiagnosticCode is the AWS diagnostic code of a problem found by package
// compile: INVALID_JSON_DESCRIPTION (not JSON), MISSING_TRANSITION_TARGET
// (a Next, Default, StartAt or Catch Next naming no state) and
// SCHEMA_VALIDATION_FAILED (every other error), as AWS's validator names
// them. Warnings (loops with no way out, which AWS does not report) are
// NO_WAY_OUT, a code of this project.
func DiagnosticCode(p diag.Problem) string {
	switch {
	case p.Severity == diag.Warning:
		return "NO_WAY_OUT"
	case strings.Contains(p.Message, "not valid JSON") || strings.Contains(p.Message, "not valid YAML"):
		return "INVALID_JSON_DESCRIPTION"
	case strings.HasPrefix(p.Message, "no state named"):
		return "MISSING_TRANSITION_TARGET"
	}
	return "SCHEMA_VALIDATION_FAILED"
}

// Diagnostics turns a definition's problems into AWS's diagnostics; the
// location is the problem's JSON pointer.
func Diagnostics(ps diag.Problems) []Diagnostic {
	out := make([]Diagnostic, 0, len(ps))
	for _, p := range ps {
		sev := "ERROR"
		if p.Severity == diag.Warning {
			sev = "WARNING"
		}
		out = append(out, Diagnostic{Severity: sev, Code: DiagnosticCode(p), Message: p.Message, Location: p.Pointer})
	}
	return out
}

// errInvalidDefinition is AWS's InvalidDefinition: "Invalid State Machine
// Definition: 'CODE: message at /pointer', ...".
func errInvalidDefinition(ps diag.Problems) *Error {
	var b strings.Builder
	b.WriteString("Invalid State Machine Definition: ")
	for i, d := range Diagnostics(ps.Errors()) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + d.Code + ": " + d.Message)
		if d.Location != "" {
			b.WriteString(" at " + d.Location)
		}
		b.WriteString("'")
	}
	return Errorf("InvalidDefinition", "%s", b.String())
}

func (validateStateMachineDefinition) Serve(_ context.Context, _ *Server, body []byte) ([]byte, error) {
	var in validateInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.required("definition", in.Definition != nil)
	v.length("definition", in.Definition, 1, 1048576)
	v.enum("type", in.Type, "STANDARD", "EXPRESS")
	v.enum("severity", in.Severity, "ERROR", "WARNING")
	v.intRange("maxResults", in.MaxResults, 0, 100)
	if err := v.err(); err != nil {
		return nil, err
	}
	ps := compile.Check([]byte(*in.Definition))
	out := validateOutput{Result: "OK", Diagnostics: []Diagnostic{}}
	if len(ps.Errors()) > 0 {
		out.Result = "FAIL"
	}
	if in.Severity == nil || *in.Severity == "ERROR" {
		ps = ps.Errors()
	}
	limit := 100
	if in.MaxResults != nil && *in.MaxResults > 0 {
		limit = int(*in.MaxResults)
	}
	if len(ps) > limit {
		ps, out.Truncated = ps[:limit], true
	}
	out.Diagnostics = append(out.Diagnostics, Diagnostics(ps)...)
	return Encode(out)
}
