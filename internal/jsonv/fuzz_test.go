package jsonv

import (
	"encoding/json"
	"testing"
)

// FuzzParse checks Parse against encoding/json: it must accept exactly the
// documents encoding/json accepts, and never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2,{"b":null}]`, `"x"`, `1.5e3`, `{"a":}`, ``, `{"a":{"b":[true,false]}}`, `{"a":"\u00e9\n"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Parse(b)
		if valid := json.Valid(b); valid != (err == nil) {
			t.Fatalf("Parse(%q): err %v, encoding/json valid %v", b, err, valid)
		}
	})
}
