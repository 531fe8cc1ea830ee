package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/resources"
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
    fetch_max_partition_bytes: 65536
    linger: 1ms
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
		o.DedupSize != 1000 || o.CommitInterval.String() != "500ms" || o.DrainTimeout.String() != "10s" ||
		o.FetchMaxPartitionBytes != 65536 || o.Linger.String() != "1ms" {
		t.Fatalf("options %+v", o)
	}
	if rs[1].Options.Ordering != kafka.OrderKey || len(rs[1].Options.Topics) != 2 {
		t.Fatalf("second: %+v", rs[1].Options)
	}
	opts, err := f.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	// a client that is made but never used: nothing is dialled
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got := cl.OptValue(kgo.MetadataMinAge).(time.Duration); got != kafka.MetadataMinAge {
		t.Errorf("MetadataMinAge %v, want kafka.MetadataMinAge (%v)", got, kafka.MetadataMinAge)
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
    fetch_max_partition_bytes: -5
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
		`/workflows/0/ordering: "random" is not one of key, partition, unordered`,
		`/workflows/0/idempotency_key: "eventId" is not a JSONPath`,
		`/workflows/0/concurrency: -1 is negative`,
		`/workflows/0/fetch_max_partition_bytes: -5 is negative`,
		`/workflows/0/resources/arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: "ftp://x" is not`,
		`/workflows/1/name: "iot" is also the name of /workflows/0`,
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

// TestDefaults: a workflow may leave out what the serve flags default —
// name, group, dlq_topic, metrics_addr — and gets the flags' values.
func TestDefaults(t *testing.T) {
	f, err := Load(writeConfig(t, `
workflows:
  - definition: iot.asl.json
    topics: [readings, more]
    resources: {enrich-device: 'static:{}'}
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.MetricsAddr != DefaultMetricsAddr {
		t.Errorf("metrics_addr %q", f.MetricsAddr)
	}
	rs, err := Check(f, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := rs[0].Config
	if w.Name != "iot" || w.Group != "express-iot" || w.DLQTopic != "readings-dlq" || rs[0].Options.Group != "express-iot" {
		t.Fatalf("defaults: %+v", w)
	}
	// an empty metrics_addr is kept: metrics off, as --metrics-addr ""
	if f, err := Parse([]byte("metrics_addr: \"\"\n")); err != nil || f.MetricsAddr != "" {
		t.Fatalf("%v %q", err, f.MetricsAddr)
	}
	for def, name := range map[string]string{"a/iot.asl.json": "iot", "b.yaml": "b", "c.asl.yml": "c", "d": "d"} {
		if got := DefaultName(def); got != name {
			t.Errorf("DefaultName(%q) = %q, want %q", def, got, name)
		}
	}
}

const lambdaDef = `{"StartAt":"Call","States":{
  "Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
    "Parameters":{"FunctionName":"arn:aws:lambda:eu-west-1:123456789012:function:enrich-devcie","Payload.$":"$"},"Next":"Plain"},
  "Plain":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{"TableName":"t"},"End":true}}}`

// TestMappings: validate --config checks every mapping against the
// definition: a Task whose target is unmapped is an error at its JSON
// pointer with a "did you mean" among the mapped names, a mapping no Task
// uses is a warning with a "did you mean" among the names the Tasks use;
// allow_unmapped turns the errors into warnings.
func TestMappings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wf.asl.json"), []byte(lambdaDef), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := func(extra string) *File {
		f, err := Parse([]byte(`
workflows:
  - definition: wf.asl.json
    topics: [in]
    resources:
      enrich-device: 'static:{}'
      arn:aws:states:::dynamodb:putitem: 'static:{}'
` + extra))
		if err != nil {
			t.Fatal(err)
		}
		f.Dir = dir
		return f
	}
	_, err := Check(cfg(""), CompileOptions{})
	text := fmt.Sprint(err)
	for _, want := range []string{
		`/workflows/0/definition: wf.asl.json: /States/Call/Parameters/FunctionName: no target is configured for "arn:aws:lambda:eu-west-1:123456789012:function:enrich-devcie": add --resource`,
		`(did you mean "enrich-device"?)`,
		`/workflows/0/definition: wf.asl.json: /States/Plain/Resource: no target is configured for "arn:aws:states:::dynamodb:putItem"`,
		`(did you mean "arn:aws:states:::dynamodb:putitem"?)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	rs, err := Check(cfg("    allow_unmapped: true\n"), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	for _, p := range rs[0].Warnings {
		warns = append(warns, p.String())
	}
	text = strings.Join(warns, "\n")
	for _, want := range []string{
		`/States/Call/Parameters/FunctionName: warning: no target is configured for "arn:aws:lambda:eu-west-1:123456789012:function:enrich-devcie"`,
		`/workflows/0/resources/enrich-device: warning: no Task uses this mapping (did you mean "arn:aws:lambda:eu-west-1:123456789012:function:enrich-devcie"?)`,
		`/workflows/0/resources/arn:aws:states:::dynamodb:putitem: warning: no Task uses this mapping (did you mean "arn:aws:states:::dynamodb:putItem"?)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	// at run time the unmapped Task fails as a Task does
	res := rs[0].Workflow.Execute(context.Background(), map[string]any{}, express.ExecOptions{})
	if res.Status != express.Failed || res.Error != express.ErrTaskFailed {
		t.Fatalf("run: %s %s %s", res.Status, res.Error, res.Cause)
	}
}

// TestMappingsUsed: mappings are used by name, short name, integration
// default or a computed name; none of them is warned about.
func TestMappingsUsed(t *testing.T) {
	doc, err := compile.Parse([]byte(`{"StartAt":"A","States":{
	  "A":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:1:function:plain","Next":"B"},
	  "B":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"named"},"Next":"C"},
	  "C":{"Type":"Task","Resource":"arn:aws:states:::sns:publish","Parameters":{"TopicArn.$":"$.topic","Message":"m"},"End":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string][]resources.Target{}
	for k, v := range map[string]string{"plain": "static:1", "arn:aws:lambda:eu-west-1:1:function:named": "static:2", "alerts": "kafka:alerts"} {
		tg, err := resources.ParseTarget(v)
		if err != nil {
			t.Fatal(err)
		}
		routes[k] = []resources.Target{tg}
	}
	res, err := resources.New(resources.Config{Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	errs, warns := CheckMappings(compile.Tasks(doc), routes, res, nil)
	if len(errs) != 0 || len(warns) != 0 {
		t.Fatalf("errors %v, warnings %v", errs, warns)
	}
	// a skipped (mocked) state needs no mapping
	errs, _ = CheckMappings(compile.Tasks(doc), nil, mustNew(t), func(s string) bool { return s != "B" })
	if len(errs) != 1 || errs[0].Pointer != "/States/B/Parameters/FunctionName" {
		t.Fatalf("errors %v", errs)
	}
}

func mustNew(t *testing.T) *resources.Resources {
	r, err := resources.New(resources.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDelivery checks the delivery settings: the transactional id given
// or derived from the group and instance id, the checks, the warning of an
// HTTP target, and the Task producer of exactly-once workflows.
func TestDelivery(t *testing.T) {
	const wf = `
  - name: NAME
    definition: iot.asl.json
    topics: [in-NAME]
    group: g-NAME
    dlq_topic: dlq-NAME
    resources:
      arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: 'TARGET'
`
	entry := func(name, target, extra string) string {
		return strings.NewReplacer("NAME", name, "TARGET", target).Replace(wf) + extra
	}
	for _, tc := range []struct {
		name     string
		yaml     string
		problems []string
		txnIDs   []string // per workflow, "" at least once
		warn     string
	}{
		{name: "default", yaml: "workflows:" + entry("a", "static:{}", ""), txnIDs: []string{""}},
		{name: "derived id", yaml: "instance_id: pod-0\nworkflows:" + entry("a", "static:{}", "    delivery: exactly-once\n    txn_interval: 250ms\n"),
			txnIDs: []string{"g-a.pod-0"}},
		{name: "given id, HTTP warned", yaml: "workflows:" + entry("a", "http://127.0.0.1:9/x", "    delivery: exactly-once\n    transactional_id: tx-a\n"),
			txnIDs: []string{"tx-a"}, warn: "/workflows/0/resources/arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: an HTTP target is called at least once"},
		{name: "no id", yaml: "workflows:" + entry("a", "static:{}", "    delivery: exactly-once\n"),
			problems: []string{"/workflows/0/delivery: exactly-once needs a transactional id"}},
		{name: "bad", yaml: "workflows:" + entry("a", "static:{}", "    delivery: twice\n") + entry("b", "static:{}", "    txn_max_records: 5\n"),
			problems: []string{`/workflows/0/delivery: "twice" is not one of at-least-once, exactly-once`, "/workflows/1/txn_max_records: only for delivery: exactly-once"}},
		{name: "shared id", yaml: "workflows:" + entry("a", "static:{}", "    delivery: exactly-once\n    transactional_id: t\n") +
			entry("b", "static:{}", "    delivery: exactly-once\n    transactional_id: t\n"),
			problems: []string{`/workflows/1/transactional_id: "t" is also the transactional id of /workflows/0`}},
		{name: "dedup", yaml: "instance_id: i\nworkflows:" + entry("a", "static:{}", "    delivery: exactly-once\n    dedup: {size: 10}\n"),
			problems: []string{"/workflows/0/dedup: the dedup cache is off with exactly-once delivery"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Load(writeConfig(t, tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var asked []string
			rs, err := Check(f, CompileOptions{TxnProducer: func(w string) resources.Producer { asked = append(asked, w); return nil }})
			if len(tc.problems) > 0 {
				if err == nil {
					t.Fatal("no problem reported")
				}
				for _, want := range tc.problems {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("missing %q in\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var eos []string
			for i, r := range rs {
				if got := r.Options.TransactionalID; got != tc.txnIDs[i] || (got != "") != (r.Options.Delivery == kafka.ExactlyOnce) {
					t.Errorf("workflow %d: transactional id %q, delivery %v", i, got, r.Options.Delivery)
				}
				if r.Options.Delivery == kafka.ExactlyOnce {
					eos = append(eos, r.Config.Name)
				}
			}
			if strings.Join(asked, ",") != strings.Join(eos, ",") {
				t.Errorf("Task producers asked for %v, want the exactly-once workflows %v", asked, eos)
			}
			if got := rs[0].ConfigWarnings.Error(); (tc.warn == "") != (len(rs[0].ConfigWarnings) == 0) || !strings.Contains(got, tc.warn) {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}
