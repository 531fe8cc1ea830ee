// Package config reads and checks the configuration of `express serve`: a
// YAML file with several workflows, or the flags of the one-workflow case
// turned into the same File. Every problem is reported with the field at
// fault (workflows[1].ordering, resources["arn:…"]) before anything
// connects.
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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stepstream/express/compile"
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
	SessionTimeout Duration   `yaml:"session_timeout"`
	ClientID       string     `yaml:"client_id"`
	Workflows      []Workflow `yaml:"workflows"`

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
	MaxRecordBytes          int      `yaml:"max_record_bytes"`
	CommitInterval          Duration `yaml:"commit_interval"`
	Dedup                   *Dedup   `yaml:"dedup"`
	HTTPTimeout             Duration `yaml:"http_timeout"`
	// Resources maps a Task resource to its target(s); see package
	// resources. A value is a string or, for arn:aws:states:::http:invoke,
	// a list of allowed URL prefixes.
	Resources map[string]Targets `yaml:"resources"`

	// DefinitionBytes, when set, is used instead of reading Definition
	// (the embedded demo).
	DefinitionBytes []byte `yaml:"-"`
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

// Problem is one configuration error: the field at fault and what is wrong.
type Problem struct {
	Field   string
	Message string
}

// String formats the problem as FIELD: MESSAGE.
func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Problems lists every problem found; it is the error type of Load and Check.
type Problems []Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

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

// Parse decodes YAML config text; unknown fields are errors.
func Parse(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Resolved is a checked, compiled workflow ready to run.
type Resolved struct {
	Config    *Workflow
	Workflow  *express.Workflow
	Resources *resources.Resources
	Options   kafka.Options // without ClientOpts, Metrics and Logger
	Routes    map[string][]resources.Target
	// Warnings are the definition's warnings (compile.Warnings): nothing
	// that stops it from running, but worth a look (a loop with no way out).
	Warnings diag.Problems
}

// CompileOptions are what Check passes to the compiler beyond the name and
// invoker: hooks (metrics) and the producer for kafka: targets.
type CompileOptions struct {
	Producer resources.Producer
	Hooks    func(workflow string) express.Hooks
}

// Check checks every field of f and compiles every definition, collecting
// every problem. It connects to nothing.
func Check(f *File, co CompileOptions) ([]*Resolved, error) {
	var ps Problems
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{field, fmt.Sprintf(format, args...)})
	}
	for i, b := range f.Brokers {
		if !strings.Contains(b, ":") {
			add(fmt.Sprintf("brokers[%d]", i), "%q is not host:port", b)
		}
	}
	if f.TLS != nil {
		for field, file := range map[string]string{"tls.ca_file": f.TLS.CAFile, "tls.cert_file": f.TLS.CertFile, "tls.key_file": f.TLS.KeyFile} {
			if file != "" {
				if _, err := os.Stat(file); err != nil {
					add(field, "%v", err)
				}
			}
		}
		if (f.TLS.CertFile == "") != (f.TLS.KeyFile == "") {
			add("tls.cert_file", "cert_file and key_file go together")
		}
	}
	if f.SASL != nil {
		switch strings.ToUpper(f.SASL.Mechanism) {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			add("sasl.mechanism", "%q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", f.SASL.Mechanism)
		}
		if f.SASL.Username == "" {
			add("sasl.username", "required")
		}
		if f.SASL.Password == "" && f.SASL.PasswordEnv == "" {
			add("sasl.password", "give password or password_env")
		} else if f.SASL.PasswordEnv != "" && os.Getenv(f.SASL.PasswordEnv) == "" {
			add("sasl.password_env", "environment variable %s is empty", f.SASL.PasswordEnv)
		}
	}
	if len(f.Workflows) == 0 {
		add("workflows", "at least one workflow is required")
	}
	names := map[string]int{}
	var out []*Resolved
	for i := range f.Workflows {
		w := &f.Workflows[i]
		at := func(field string) string { return fmt.Sprintf("workflows[%d].%s", i, field) }
		if w.Name == "" {
			add(at("name"), "required")
		} else if j, dup := names[w.Name]; dup {
			add(at("name"), "%q is also the name of workflows[%d]", w.Name, j)
		} else {
			names[w.Name] = i
		}
		o := kafka.Options{Topics: w.Topics, Group: w.Group, OutputTopic: w.OutputTopic, DLQTopic: w.DLQTopic,
			Concurrency: w.Concurrency, MaxInFlight: w.MaxInFlight, MaxInFlightPerPartition: w.MaxInFlightPerPartition,
			MaxInFlightBytes: int64(w.MaxInFlightBytes), MaxRecordBytes: w.MaxRecordBytes, CommitInterval: time.Duration(w.CommitInterval), DrainTimeout: time.Duration(f.DrainTimeout)}
		if len(w.Topics) == 0 {
			add(at("topics"), "at least one topic is required")
		}
		for j, t := range w.Topics {
			if err := resources.CheckTopic(t); err != nil {
				add(fmt.Sprintf("workflows[%d].topics[%d]", i, j), "%v", err)
			}
			if t == w.OutputTopic || t == w.DLQTopic {
				add(fmt.Sprintf("workflows[%d].topics[%d]", i, j), "%q is also the output or DLQ topic: results would be consumed again", t)
			}
		}
		if w.Group == "" {
			add(at("group"), "required")
		}
		if w.OutputTopic != "" {
			if err := resources.CheckTopic(w.OutputTopic); err != nil {
				add(at("output_topic"), "%v", err)
			}
		}
		if w.DLQTopic == "" {
			add(at("dlq_topic"), "required: failed executions and malformed records go there")
		} else if err := resources.CheckTopic(w.DLQTopic); err != nil {
			add(at("dlq_topic"), "%v", err)
		}
		var err error
		if o.Ordering, err = kafka.ParseOrdering(w.Ordering); err != nil {
			add(at("ordering"), "%v", err)
		}
		if o.IdempotencyKey, err = kafka.ParseKeySource(w.IdempotencyKey); err != nil {
			add(at("idempotency_key"), "%v", err)
		}
		for field, v := range map[string]int{"concurrency": w.Concurrency, "max_in_flight": w.MaxInFlight,
			"max_in_flight_per_partition": w.MaxInFlightPerPartition, "max_in_flight_bytes": w.MaxInFlightBytes, "max_record_bytes": w.MaxRecordBytes} {
			if v < 0 {
				add(at(field), "%d is negative", v)
			}
		}
		if w.Concurrency > 1_000_000 {
			add(at("concurrency"), "%d is over the limit of 1000000", w.Concurrency)
		}
		if w.Dedup != nil {
			o.DedupSize, o.DedupWindow = w.Dedup.Size, time.Duration(w.Dedup.Window)
			if w.Dedup.Size == 0 {
				o.DedupSize = -1
			}
		}
		routes := map[string][]resources.Target{}
		keys := make([]string, 0, len(w.Resources))
		for k := range w.Resources {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		resOK := true
		for _, k := range keys {
			for j, s := range w.Resources[k] {
				t, err := resources.ParseTarget(s)
				if err != nil {
					field := fmt.Sprintf("workflows[%d].resources[%q]", i, k)
					if len(w.Resources[k]) > 1 {
						field += fmt.Sprintf("[%d]", j)
					}
					add(field, "%v", err)
					resOK = false
					continue
				}
				routes[k] = append(routes[k], t)
			}
		}
		var res *resources.Resources
		if resOK {
			res, err = resources.New(resources.Config{Routes: routes, Producer: co.Producer, HTTPTimeout: time.Duration(w.HTTPTimeout)})
			if err != nil {
				add(at("resources"), "%v", err)
			}
		}
		def := w.DefinitionBytes
		if def == nil {
			if w.Definition == "" {
				add(at("definition"), "required: the path of the state machine definition")
				continue
			}
			path := w.Definition
			if !filepath.IsAbs(path) && f.Dir != "" {
				path = filepath.Join(f.Dir, path)
			}
			if def, err = os.ReadFile(path); err != nil {
				add(at("definition"), "%v", err)
				continue
			}
		}
		if res == nil {
			continue
		}
		copts := compile.Options{Name: w.Name, Invoker: res, CheckResource: res.CheckResource}
		if co.Hooks != nil {
			copts.Hooks = co.Hooks(w.Name)
		}
		wf, err := compile.Compile(def, copts)
		if err != nil {
			var dps diag.Problems
			if errors.As(err, &dps) {
				for _, p := range dps {
					add(at("definition"), "%s: %s", w.Definition, p.String())
				}
			} else {
				add(at("definition"), "%s: %v", w.Definition, err)
			}
			continue
		}
		o.Workflow = wf
		var warnings diag.Problems
		if doc, err := compile.Parse(def); err == nil {
			warnings = compile.Warnings(doc)
		}
		out = append(out, &Resolved{Config: w, Workflow: wf, Resources: res, Options: o, Routes: routes, Warnings: warnings})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return out, nil
}
