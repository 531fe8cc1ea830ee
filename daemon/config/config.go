// Package config reads and checks the configuration of `express serve`: a
// YAML file with several workflows, or the flags of the one-workflow case
// turned into the same File. Every problem is reported with the JSON
// pointer of the field at fault (/workflows/1/ordering,
// /workflows/0/resources/arn:…) before anything connects.
//
// Example:
//
//	brokers: [kafka-1:9092, kafka-2:9092]
//	tls: {enabled: true, ca_file: ca.pem}
//	sasl: {mechanism: SCRAM-SHA-512, username: express, password_env: KAFKA_PASSWORD}
//	metrics_addr: 127.0.0.1:9464
//	drain_timeout: 30s
//	session_timeout: 10s
//	workflows:
//	  - name: iot
//	    definition: iot.asl.json        # relative to this file
//	    topics: [readings]
//	    group: iot-express
//	    output_topic: readings-out
//	    dlq_topic: readings-dlq
//	    ordering: key                   # key | partition | unordered
//	    idempotency_key: $.eventId      # JSONPath, header:NAME, key, or offset (default)
//	    concurrency: 256
//	    max_in_flight: 8192
//	    max_in_flight_per_partition: 1024
//	    max_in_flight_bytes: 67108864
//	    max_record_bytes: 262144
//	    commit_interval: 1s
//	    dedup: {size: 100000, window: 10m}   # size: -1 disables
//	    delivery: at-least-once         # or exactly-once (Kafka transactions)
//	    transactional_id: iot-express-a # exactly-once; default GROUP.INSTANCE_ID
//	    txn_interval: 100ms             # exactly-once: a transaction's length
//	    txn_max_records: 10000          # ... or its records, whichever first
//	    http_timeout: 10s
//	    resources:
//	      arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: http://127.0.0.1:8080/enrich
//	      arn:aws:states:::sns:publish: kafka:alerts
//	      arn:aws:states:::http:invoke: [https://api.example.com/v1/]
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/resources"
)

// File is a serve configuration.
type File struct {
	// Brokers to bootstrap from; empty starts an embedded broker.
	Brokers      []string `yaml:"brokers"`
	TLS          *TLS     `yaml:"tls"`
	SASL         *SASL    `yaml:"sasl"`
	MetricsAddr  string   `yaml:"metrics_addr"`
	DrainTimeout Duration `yaml:"drain_timeout"`
	// SessionTimeout is the consumer group session timeout (default 45s): how
	// long a crashed member keeps its partitions before the group moves them.
	SessionTimeout Duration `yaml:"session_timeout"`
	ClientID       string   `yaml:"client_id"`
	// MaxBuildBytesTotal bounds what all running executions' JSONata
	// expressions and intrinsic functions have built together (see
	// express.BuildPool); 0 means DefaultMaxBuildBytesTotal, negative none.
	MaxBuildBytesTotal int64 `yaml:"max_build_bytes_total"`
	// InstanceID names this process among those running the same
	// workflows; an exactly-once workflow without a transactional_id
	// derives its transactional id from its group and this
	// (GROUP.INSTANCE_ID). Keep it stable across restarts of one process
	// and distinct between processes.
	InstanceID string     `yaml:"instance_id"`
	Workflows  []Workflow `yaml:"workflows"`
	// API serves the Step Functions API (see API); nil: not served.
	API *API `yaml:"api"`

	// Dir is the directory definition paths are relative to.
	Dir string `yaml:"-"`
}

// TLS configures TLS to the brokers.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASL configures SASL authentication: PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512. The password is given directly or read from the
// environment variable PasswordEnv.
type SASL struct {
	Mechanism   string `yaml:"mechanism"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
}

// Workflow is one workflow consuming its topics in its group.
type Workflow struct {
	Name                    string   `yaml:"name"`
	Definition              string   `yaml:"definition"`
	Topics                  []string `yaml:"topics"`
	Group                   string   `yaml:"group"`
	OutputTopic             string   `yaml:"output_topic"`
	DLQTopic                string   `yaml:"dlq_topic"`
	Ordering                string   `yaml:"ordering"`
	IdempotencyKey          string   `yaml:"idempotency_key"`
	Concurrency             int      `yaml:"concurrency"`
	MaxInFlight             int      `yaml:"max_in_flight"`
	MaxInFlightPerPartition int      `yaml:"max_in_flight_per_partition"`
	MaxInFlightBytes        int      `yaml:"max_in_flight_bytes"`
	// FetchMaxPartitionBytes is Kafka's max.partition.fetch.bytes for the
	// workflow's consumer (0: kafka.DefaultFetchMaxPartitionBytes).
	FetchMaxPartitionBytes int `yaml:"fetch_max_partition_bytes"`
	// MaxBuildBytes bounds what one execution's JSONata expressions and
	// intrinsic functions may build (0: express.DefaultMaxBuildBytes).
	MaxBuildBytes  int64    `yaml:"max_build_bytes"`
	MaxRecordBytes int      `yaml:"max_record_bytes"`
	CommitInterval Duration `yaml:"commit_interval"`
	// Linger is how long results wait for more before they are sent
	// (0: kafka.DefaultLinger).
	Linger      Duration `yaml:"linger"`
	Dedup       *Dedup   `yaml:"dedup"`
	HTTPTimeout Duration `yaml:"http_timeout"`
	// PropagateHeaders names the input record headers copied to the
	// output record and sent with Task calls (kafka.Options.
	// PropagateHeaders); absent: traceparent and tracestate, []: none.
	PropagateHeaders []string `yaml:"propagate_headers"`
	// Delivery is at-least-once (default) or exactly-once: outputs, dead
	// letters, kafka: Task records and the consumed offsets in one Kafka
	// transaction (HTTP Tasks stay at least once).
	Delivery string `yaml:"delivery"`
	// TransactionalID is the exactly-once transactional id (default
	// GROUP.INSTANCE_ID, see File.InstanceID).
	TransactionalID string `yaml:"transactional_id"`
	// TxnInterval and TxnMaxRecords close an exactly-once transaction
	// after this long or this many records (defaults 100ms, 10000).
	TxnInterval   Duration `yaml:"txn_interval"`
	TxnMaxRecords int      `yaml:"txn_max_records"`
	// Resources maps a Task resource to its target(s); see package
	// resources. A value is a string or, for arn:aws:states:::http:invoke,
	// a list of allowed URL prefixes.
	Resources map[string]Targets `yaml:"resources"`
	// AllowUnmapped lets Tasks with no target fail when they run (with
	// States.TaskFailed, into their Catch) instead of stopping the check.
	AllowUnmapped bool `yaml:"allow_unmapped"`

	// DefinitionBytes, when set, is used instead of reading Definition
	// (the embedded demo).
	DefinitionBytes []byte `yaml:"-"`
}

// Defaults shared by the serve flags and the config file.
const (
	// DefaultMetricsAddr is where /metrics, /healthz and /readyz are
	// served when metrics_addr (--metrics-addr) is not given; "" turns
	// them off.
	DefaultMetricsAddr = "127.0.0.1:9464"
	// DefaultDrainTimeout and DefaultSessionTimeout are what a zero
	// drain_timeout and session_timeout mean.
	DefaultDrainTimeout   = kafka.DefaultDrainTimeout
	DefaultSessionTimeout = 45 * time.Second
)

// SetDefaults fills in what a workflow may leave out, as the serve flags
// do: the name (the definition file's base name without .asl.json,
// .json, .yaml or .yml), the group (express-NAME) and the dead-letter
// topic (FIRST-TOPIC-dlq). Check calls it.
func (w *Workflow) SetDefaults() {
	if w.Name == "" && w.Definition != "" {
		w.Name = DefaultName(w.Definition)
	}
	if w.Group == "" && w.Name != "" {
		w.Group = "express-" + w.Name
	}
	if w.DLQTopic == "" && len(w.Topics) > 0 {
		w.DLQTopic = w.Topics[0] + "-dlq"
	}
}

// DefaultName is a workflow's name taken from its definition's path:
// the base name without .asl.json, .json, .asl.yaml, .yaml, .yml or .asl.
func DefaultName(definition string) string {
	base := filepath.Base(definition)
	for _, ext := range []string{".json", ".yaml", ".yml", ".asl"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// Dedup configures the cache of completed idempotency keys.
type Dedup struct {
	Size   int      `yaml:"size"`
	Window Duration `yaml:"window"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30s or 5m", n.Line, s)
	}
	if v < 0 {
		return fmt.Errorf("line %d: %q is negative", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Targets is one target or a list of them.
type Targets []string

// UnmarshalYAML accepts a string or a list of strings.
func (t *Targets) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*t = Targets{s}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*t = l
	return nil
}

// Problem is one configuration error: the JSON pointer (RFC 6901) of the
// field at fault in the config document, e.g. /workflows/0/ordering, and
// what is wrong; printed as definitions' problems are.
type Problem = diag.Problem

// Problems lists every problem found; it is the error type of Check.
type Problems = diag.Problems

// Load reads and parses a YAML config file (unknown fields are errors) and
// checks it (see Check).
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Dir = filepath.Dir(path)
	return f, nil
}

// Parse decodes YAML config text; unknown fields are errors. Fields left
// out take the defaults the serve flags have (metrics_addr; the
// workflows' name, group and dlq_topic are defaulted by Check, see
// Workflow.SetDefaults); an empty document is an empty File.
func Parse(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var present map[string]any // which top-level fields are written
	if err := yaml.Unmarshal(b, &present); err == nil {
		if _, ok := present["metrics_addr"]; !ok {
			f.MetricsAddr = DefaultMetricsAddr
		}
	}
	return &f, nil
}

// Resolved is a checked, compiled workflow ready to run.
type Resolved struct {
	Config *Workflow
	// Definition is the definition's text as it was read and compiled.
	Definition []byte
	Workflow   *express.Workflow
	Resources  *resources.Resources
	Options    kafka.Options // without ClientOpts, Metrics and Logger
	Routes     map[string][]resources.Target
	// Warnings are the definition's warnings (compile.Warnings): nothing
	// that stops it from running, but worth a look (a loop with no way out).
	Warnings diag.Problems
	// ConfigWarnings are the same for the workflow's config (an HTTP Task
	// of an exactly-once workflow, which stays at least once), with the
	// config field at fault.
	ConfigWarnings diag.Problems
}

// CompileOptions are what Check passes to the compiler beyond the name and
// invoker: hooks (metrics) and the producer for kafka: targets.
type CompileOptions struct {
	Producer resources.Producer
	// TxnProducer, when set, gives the producer of an exactly-once
	// workflow's kafka: targets (its records join the workflow's
	// transactions); nil or a nil result means Producer.
	TxnProducer func(workflow string) resources.Producer
	Hooks       func(workflow string) express.Hooks
}
