package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/kafka"
)

const refDef = "../../kafka/testdata/iot-reference.asl.json"

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	def, err := os.ReadFile(refDef)
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "iot.asl.json"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "express.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodYAML = `
brokers: [127.0.0.1:9092]
metrics_addr: 127.0.0.1:0
drain_timeout: 10s
workflows:
  - name: iot
    definition: iot.asl.json
    topics: [readings]
    group: iot
    output_topic: readings-out
    dlq_topic: readings-dlq
    ordering: partition
    idempotency_key: $.eventId
    concurrency: 16
    commit_interval: 500ms
    dedup: {size: 1000, window: 1m}
    resources:
      arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: 'static:{"site":"plant-1","threshold":30}'
      arn:aws:states:::http:invoke: [https://api.example.com/v1/, http://127.0.0.1:8080/]
  - name: second
    definition: iot.asl.json
    topics: [a, b]
    group: g2
    dlq_topic: dlq2
    resources:
      enrich-device: http://127.0.0.1:9/enrich
`

func TestGoodConfig(t *testing.T) {
	f, err := Load(writeConfig(t, goodYAML))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Check(f, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d workflows", len(rs))
	}
	o := rs[0].Options
	if o.Ordering != kafka.OrderPartition || o.IdempotencyKey.String() != "$.eventId" || o.Concurrency != 16 ||
		o.DedupSize != 1000 || o.CommitInterval.String() != "500ms" || o.DrainTimeout.String() != "10s" {
		t.Fatalf("options %+v", o)
	}
	if rs[1].Options.Ordering != kafka.OrderKey || len(rs[1].Options.Topics) != 2 {
		t.Fatalf("second: %+v", rs[1].Options)
	}
	if _, err := f.ClientOpts(); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfig(t *testing.T) {
	p := writeConfig(t, `
brokers: [nohostport]
sasl: {mechanism: GSSAPI, username: u, password: p}
workflows:
  - name: iot
    definition: iot.asl.json
    topics: [readings, "bad topic"]
    group: iot
    output_topic: readings
    ordering: random
    idempotency_key: eventId
    concurrency: -1
    resources:
      arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: ftp://x
  - name: iot
    definition: missing.json
    topics: [x]
  - name: unmapped
    definition: iot.asl.json
    topics: [y]
    group: g
    dlq_topic: d
`)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(f, CompileOptions{})
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("error %T %v", err, err)
	}
	text := ps.Error()
	for _, want := range []string{
		`/brokers/0: "nohostport" is not host:port`,
		`/sasl/mechanism: "GSSAPI" is not one of`,
		`/workflows/0/topics/1: topic name "bad topic"`,
		`/workflows/0/topics/0: "readings" is also the output or DLQ topic`,
		`/workflows/0/dlq_topic: required`,
		`/workflows/0/ordering: "random" is not one of key, partition, unordered`,
		`/workflows/0/idempotency_key: "eventId" is not a JSONPath`,
		`/workflows/0/concurrency: -1 is negative`,
		`/workflows/0/resources/arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: "ftp://x" is not`,
		`/workflows/1/name: "iot" is also the name of /workflows/0`,
		`/workflows/1/group: required`,
		`/workflows/1/definition: open`,
		`/workflows/2/definition: iot.asl.json: /States/Enrich/Resource: no target is configured for "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing problem %q in\n%s", want, text)
		}
	}
}

func TestUnknownField(t *testing.T) {
	_, err := Parse([]byte("workflows:\n  - name: x\n    topic: [a]\n"))
	if err == nil || !strings.Contains(err.Error(), "field topic not found") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse([]byte("drain_timeout: soon\n"))
	if err == nil || !strings.Contains(err.Error(), `"soon" is not a duration`) {
		t.Fatalf("err = %v", err)
	}
}
