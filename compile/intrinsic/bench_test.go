package intrinsic

import (
	"testing"

	"github.com/stepstream/express/internal/jsonv"
)

func benchEval(b *testing.B, src, input string) {
	f := MustCompile(src)
	in, err := jsonv.ParsePlain([]byte(input))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Eval(nil, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.Eval(nil, in); err != nil {
			b.Fatal(err)
		}
	}
}

const deviceRecord = `{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature"}`

// BenchmarkFormat is the per-record key builder of the brief.
func BenchmarkFormat(b *testing.B) {
	benchEval(b, `States.Format('{}/{}/{}', $.deviceId, $.type, $.ts)`, deviceRecord)
}

func BenchmarkFormatParallel(b *testing.B) {
	f := MustCompile(`States.Format('{}/{}/{}', $.deviceId, $.type, $.ts)`)
	in, _ := jsonv.ParsePlain([]byte(deviceRecord))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.Eval(nil, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMathAdd(b *testing.B) {
	benchEval(b, `States.MathAdd($.n, 1)`, `{"n": 41}`)
}

func BenchmarkArrayGetItemSplit(b *testing.B) {
	benchEval(b, `States.ArrayGetItem(States.StringSplit($.arn, ':'), 3)`, `{"arn":"arn:aws:states:us-east-1:123456789012:stateMachine:x"}`)
}

func BenchmarkHash(b *testing.B) {
	benchEval(b, `States.Hash($.deviceId, 'SHA-256')`, deviceRecord)
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`States.Format('{}/{}/{}', $.deviceId, $.type, $.ts)`); err != nil {
			b.Fatal(err)
		}
	}
}
