package api

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeFlat: whenever the fast reader of flat requests accepts a
// body, encoding/json reads the same members from it.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{`{}`, ` { "a" : "b" , "c":null } `, `{"input":"{\"x\":\"\\u00e9\\ud83d\\ude00\"}"}`, `{"a":"\ud800"}`,
		`{"a":1}`, `{"a":"b",}`, `{"a":"b"}x`, "{\"a\":\"\xff\"}", `{"a":"\u0000\/\b\f\n\r\t"}`, `{"a":"b","a":"c"}`,
		`{"a":"x\u00E9\ud83d\ude00\"\\"}`, `{"a":"\ud83dx"}`, `{"a":"\udc00\ud800"}`, `{"a":"\ud83d\u0041"}`, `{"a":"\u12"}`, `{"a":"\q"}`, `{"a":"\"}`, "{\"a\":\"\\n\xe9\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[string]string{}
		if !decodeFlat(b, func(k, v string, raw []byte) {
			got[k] = v
			var r string
			if err := json.Unmarshal(raw, &r); err != nil || r != v {
				t.Fatalf("%q: raw token %q of %q is %q (%v)", b, raw, k, r, err)
			}
		}) {
			return
		}
		var want map[string]*string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", b, err)
		}
		for k, v := range want {
			if v == nil {
				if _, ok := got[k]; ok {
					t.Fatalf("%q: null member %q set", b, k)
				}
				continue
			}
			if got[k] != *v {
				t.Fatalf("%q: member %q = %q, encoding/json %q", b, k, got[k], *v)
			}
		}
		if len(got) > len(want) {
			t.Fatalf("%q: %v, encoding/json %v", b, got, want)
		}
	})
}

// TestDecodeFlatAccepts: the usual requests take the fast reader (a
// refusal would still answer right, through the general parser, but
// slowly), escapes unescaped.
func TestDecodeFlatAccepts(t *testing.T) {
	for body, want := range map[string]string{
		`{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:iot","input":"{\"deviceId\":\"dev-42\",\"tags\":[\"roof\"]}"}`: `{"deviceId":"dev-42","tags":["roof"]}`,
		`{"input":"a\u00e9\ud83d\ude00\/\\\n\t"}`: "a\u00e9\U0001F600/\\\n\t",
		`{"input":"plain"}`:                       "plain",
	} {
		var got string
		if !decodeFlat([]byte(body), func(k, v string, _ []byte) {
			if k == "input" {
				got = v
			}
		}) || got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}
