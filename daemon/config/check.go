package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/resources"
)

// Check checks every field of f and compiles every definition, collecting
// every problem. It connects to nothing.
//
// The steps: the client settings (brokers, TLS, SASL), then per workflow
// its Kafka options, its resources, and its definition (read and
// compiled).
func Check(f *File, co CompileOptions) ([]*Resolved, error) {
	c := &checker{f: f, co: co}
	c.client()
	if len(f.Workflows) == 0 && !f.API.Enabled() {
		c.add("/workflows", "at least one workflow is required (or an api address)")
	}
	names := map[string]int{}
	txnIDs := map[string]int{}
	var out []*Resolved
	for i := range f.Workflows {
		w := &f.Workflows[i]
		w.SetDefaults()
		if w.Name == "" {
			c.add(at(i, "name"), "required")
		} else if j, dup := names[w.Name]; dup {
			c.add(at(i, "name"), "%q is also the name of /workflows/%d", w.Name, j)
		} else {
			names[w.Name] = i
		}
		o := c.kafkaOptions(i, w)
		if o.Delivery == kafka.ExactlyOnce && o.TransactionalID != "" {
			if j, dup := txnIDs[o.TransactionalID]; dup {
				c.add(at(i, "transactional_id"), "%q is also the transactional id of /workflows/%d: they would fence each other", o.TransactionalID, j)
			} else {
				txnIDs[o.TransactionalID] = i
			}
		}
		if r := c.workflow(i, w, o.Delivery); r != nil {
			o.Workflow = r.Workflow
			r.Options = o
			r.ConfigWarnings = deliveryWarnings(i, o.Delivery, r.Routes)
			out = append(out, r)
		}
	}
	if f.API.Enabled() {
		if _, err := APIRoutes(f); err != nil {
			c.ps = append(c.ps, err.(Problems)...)
		}
	}
	if len(c.ps) > 0 {
		return nil, c.ps
	}
	return out, nil
}

// CheckWorkflow does for the i-th workflow of f what Check does but for
// its Kafka settings: defaults, resources, definition, mappings. It is
// what `express run` and `express test` take from a config file. The
// Resolved has no Options.
func CheckWorkflow(f *File, i int, co CompileOptions) (*Resolved, error) {
	c := &checker{f: f, co: co}
	w := &f.Workflows[i]
	w.SetDefaults()
	r := c.workflow(i, w, kafka.AtLeastOnce)
	if len(c.ps) > 0 {
		return nil, c.ps
	}
	return r, nil
}

// workflow builds the i-th workflow's resources (for delivery d: an
// exactly-once workflow's kafka: targets produce in its transactions) and
// compiles its definition against them; nil when either has a problem.
func (c *checker) workflow(i int, w *Workflow, d kafka.Delivery) *Resolved {
	routes, res := c.resources(i, w, d)
	def := c.definition(i, w)
	if def == nil || res == nil {
		return nil
	}
	wf, warnings := c.compile(i, w, def, routes, res)
	if wf == nil {
		return nil
	}
	return &Resolved{Config: w, Definition: def, Workflow: wf, Resources: res, Routes: routes, Warnings: warnings}
}

// checker collects the problems of one Check.
type checker struct {
	f  *File
	co CompileOptions
	ps Problems
}

// add records a problem at the JSON pointer of the field at fault.
func (c *checker) add(pointer, format string, args ...any) {
	c.ps.Add(pointer, fmt.Sprintf(format, args...))
}

// at is the JSON pointer of a field of the i-th workflow; more tokens
// (indexes, map keys) are escaped as RFC 6901 says.
func at(i int, field string, more ...string) string {
	return diag.Pointer("/workflows", append([]string{strconv.Itoa(i), field}, more...)...)
}

// client checks the brokers, TLS and SASL settings.
func (c *checker) client() {
	f := c.f
	for i, b := range f.Brokers {
		if !strings.Contains(b, ":") {
			c.add("/brokers/"+strconv.Itoa(i), "%q is not host:port", b)
		}
	}
	if f.TLS != nil {
		for field, file := range map[string]string{"/tls/ca_file": f.TLS.CAFile, "/tls/cert_file": f.TLS.CertFile, "/tls/key_file": f.TLS.KeyFile} {
			if file != "" {
				if _, err := os.Stat(file); err != nil {
					c.add(field, "%v", err)
				}
			}
		}
		if (f.TLS.CertFile == "") != (f.TLS.KeyFile == "") {
			c.add("/tls/cert_file", "cert_file and key_file go together")
		}
	}
	if f.SASL != nil {
		switch strings.ToUpper(f.SASL.Mechanism) {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			c.add("/sasl/mechanism", "%q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", f.SASL.Mechanism)
		}
		if f.SASL.Username == "" {
			c.add("/sasl/username", "required")
		}
		if f.SASL.Password == "" && f.SASL.PasswordEnv == "" {
			c.add("/sasl/password", "give password or password_env")
		} else if f.SASL.PasswordEnv != "" && os.Getenv(f.SASL.PasswordEnv) == "" {
			c.add("/sasl/password_env", "environment variable %s is empty", f.SASL.PasswordEnv)
		}
	}
}

// kafkaOptions checks the i-th workflow's topics, group, ordering,
// idempotency key, limits and dedup settings and returns its processor
// options (without the workflow).
func (c *checker) kafkaOptions(i int, w *Workflow) kafka.Options {
	o := kafka.Options{Topics: w.Topics, Group: w.Group, OutputTopic: w.OutputTopic, DLQTopic: w.DLQTopic,
		Concurrency: w.Concurrency, MaxInFlight: w.MaxInFlight, MaxInFlightPerPartition: w.MaxInFlightPerPartition,
		MaxInFlightBytes: int64(w.MaxInFlightBytes), FetchMaxPartitionBytes: int32(min(w.FetchMaxPartitionBytes, math.MaxInt32)),
		MaxRecordBytes: w.MaxRecordBytes, CommitInterval: time.Duration(w.CommitInterval),
		Linger:       time.Duration(w.Linger),
		DrainTimeout: time.Duration(c.f.DrainTimeout)}
	if len(w.Topics) == 0 {
		c.add(at(i, "topics"), "at least one topic is required")
	}
	for j, t := range w.Topics {
		if err := resources.CheckTopic(t); err != nil {
			c.add(at(i, "topics", strconv.Itoa(j)), "%v", err)
		}
		if t == w.OutputTopic || t == w.DLQTopic {
			c.add(at(i, "topics", strconv.Itoa(j)), "%q is also the output or DLQ topic: results would be consumed again", t)
		}
	}
	if w.Group == "" {
		c.add(at(i, "group"), "required")
	}
	if w.OutputTopic != "" {
		if err := resources.CheckTopic(w.OutputTopic); err != nil {
			c.add(at(i, "output_topic"), "%v", err)
		}
	}
	if w.DLQTopic == "" {
		c.add(at(i, "dlq_topic"), "required: failed executions and malformed records go there")
	} else if err := resources.CheckTopic(w.DLQTopic); err != nil {
		c.add(at(i, "dlq_topic"), "%v", err)
	}
	var err error
	if o.Ordering, err = kafka.ParseOrdering(w.Ordering); err != nil {
		c.add(at(i, "ordering"), "%v", err)
	}
	if o.IdempotencyKey, err = kafka.ParseKeySource(w.IdempotencyKey); err != nil {
		c.add(at(i, "idempotency_key"), "%v", err)
	}
	for field, v := range map[string]int{"concurrency": w.Concurrency, "max_in_flight": w.MaxInFlight,
		"max_in_flight_per_partition": w.MaxInFlightPerPartition, "max_in_flight_bytes": w.MaxInFlightBytes, "max_record_bytes": w.MaxRecordBytes,
		"fetch_max_partition_bytes": w.FetchMaxPartitionBytes,
		"max_build_bytes":           int(w.MaxBuildBytes)} {
		if v < 0 {
			c.add(at(i, field), "%d is negative", v)
		}
	}
	if w.Concurrency > 1_000_000 {
		c.add(at(i, "concurrency"), "%d is over the limit of 1000000", w.Concurrency)
	}
	o.PropagateHeaders = w.PropagateHeaders
	for j, h := range w.PropagateHeaders {
		if strings.TrimSpace(h) == "" {
			c.add(at(i, "propagate_headers")+"/"+strconv.Itoa(j), "empty header name")
		}
	}
	if w.Dedup != nil {
		o.DedupSize, o.DedupWindow = w.Dedup.Size, time.Duration(w.Dedup.Window)
		if w.Dedup.Size == 0 {
			o.DedupSize = -1
		}
	}
	c.delivery(i, w, &o)
	return o
}

// delivery checks the i-th workflow's delivery settings into o.
func (c *checker) delivery(i int, w *Workflow, o *kafka.Options) {
	var err error
	if o.Delivery, err = kafka.ParseDelivery(w.Delivery); err != nil {
		c.add(at(i, "delivery"), "%v", err)
		return
	}
	if w.TxnMaxRecords < 0 {
		c.add(at(i, "txn_max_records"), "%d is negative", w.TxnMaxRecords)
	}
	if o.Delivery != kafka.ExactlyOnce {
		for field, set := range map[string]bool{"transactional_id": w.TransactionalID != "", "txn_interval": w.TxnInterval != 0, "txn_max_records": w.TxnMaxRecords != 0} {
			if set {
				c.add(at(i, field), "only for delivery: exactly-once")
			}
		}
		return
	}
	o.TxnInterval, o.TxnMaxRecords = time.Duration(w.TxnInterval), w.TxnMaxRecords
	o.TransactionalID = w.TransactionalID
	if o.TransactionalID == "" && c.f.InstanceID != "" && w.Group != "" {
		o.TransactionalID = w.Group + "." + c.f.InstanceID
	}
	if o.TransactionalID == "" {
		c.add(at(i, "delivery"), "exactly-once needs a transactional id that stays the same when this process restarts and differs between processes: "+
			"set transactional_id, or instance_id (serve --instance-id) to derive it as GROUP.INSTANCE_ID")
	}
	if w.Dedup != nil && w.Dedup.Size > 0 {
		c.add(at(i, "dedup"), "the dedup cache is off with exactly-once delivery (it cannot follow transaction aborts); drop it")
	}
}

// deliveryWarnings warns of the HTTP targets of an exactly-once workflow:
// they cannot join its transactions.
func deliveryWarnings(i int, d kafka.Delivery, routes map[string][]resources.Target) diag.Problems {
	if d != kafka.ExactlyOnce {
		return nil
	}
	var ps diag.Problems
	for _, k := range slices.Sorted(maps.Keys(routes)) {
		for _, t := range routes[k] {
			if t.Kind == resources.KindHTTP {
				ps.Add(at(i, "resources", k), "an HTTP target is called at least once even with exactly-once delivery: a request can be repeated "+
					"after a crash or an aborted transaction; its Idempotency-Key header (the execution name) lets the service drop repeats")
				break
			}
		}
	}
	return ps
}

// resources parses the i-th workflow's resource targets and builds its
// invoker; the invoker is nil when a target is wrong.
func (c *checker) resources(i int, w *Workflow, d kafka.Delivery) (map[string][]resources.Target, *resources.Resources) {
	routes := map[string][]resources.Target{}
	ok := true
	for _, k := range slices.Sorted(maps.Keys(w.Resources)) {
		for j, s := range w.Resources[k] {
			t, err := resources.ParseTarget(s)
			if err != nil {
				field := at(i, "resources", k)
				if len(w.Resources[k]) > 1 {
					field += "/" + strconv.Itoa(j)
				}
				c.add(field, "%v", err)
				ok = false
				continue
			}
			routes[k] = append(routes[k], t)
		}
	}
	if !ok {
		return routes, nil
	}
	prod := c.co.Producer
	if d == kafka.ExactlyOnce && c.co.TxnProducer != nil {
		if tp := c.co.TxnProducer(w.Name); tp != nil {
			prod = tp
		}
	}
	res, err := resources.New(resources.Config{Routes: routes, Producer: prod, HTTPTimeout: time.Duration(w.HTTPTimeout)})
	if err != nil {
		c.add(at(i, "resources"), "%v", err)
		return routes, nil
	}
	return routes, res
}

// definition returns the i-th workflow's definition: given, or read from
// its path (relative to the config file's folder).
func (c *checker) definition(i int, w *Workflow) []byte {
	if w.DefinitionBytes != nil {
		return w.DefinitionBytes
	}
	if w.Definition == "" {
		c.add(at(i, "definition"), "required: the path of the state machine definition")
		return nil
	}
	path := w.Definition
	if !filepath.IsAbs(path) && c.f.Dir != "" {
		path = filepath.Join(c.f.Dir, path)
	}
	def, err := os.ReadFile(path)
	if err != nil {
		c.add(at(i, "definition"), "%v", err)
		return nil
	}
	return def
}

// compile compiles the i-th workflow's definition with its invoker and
// hooks and checks its Tasks against the mappings (CheckMappings): a Task
// with no target is an error unless AllowUnmapped makes it a warning. It
// returns nil when the definition has problems, and the warnings: the
// definition's (compile.Warnings, at their definition pointers) and the
// mappings' (at /workflows/i/resources/KEY).
func (c *checker) compile(i int, w *Workflow, def []byte, routes map[string][]resources.Target, res *resources.Resources) (*express.Workflow, diag.Problems) {
	doc, err := compile.Parse(def)
	if err != nil {
		c.add(at(i, "definition"), "%s: %v", w.Definition, err)
		return nil, nil
	}
	// The compiler checks what no mapping can fix; CheckMappings the rest.
	copts := compile.Options{Name: w.Name, Invoker: res, CheckResource: func(s string) error {
		if strings.HasSuffix(s, ".waitForTaskToken") {
			return res.CheckResource(s)
		}
		return nil
	}}
	if c.co.Hooks != nil {
		copts.Hooks = c.co.Hooks(w.Name)
	}
	wf, err := compile.CompileValue(doc, copts)
	if err == nil && w.MaxBuildBytes != 0 {
		wf = wf.WithMaxBuildBytes(w.MaxBuildBytes)
	}
	var dps diag.Problems
	if err != nil && !errors.As(err, &dps) {
		c.add(at(i, "definition"), "%s: %v", w.Definition, err)
		return nil, nil
	}
	unmapped, unused := CheckMappings(compile.Tasks(doc), routes, res, nil)
	var warnings diag.Problems
	for _, p := range unmapped {
		if w.AllowUnmapped {
			warnings.Warn(p.Pointer, p.Message+" (allow_unmapped: it fails when it runs)")
		} else {
			dps = append(dps, p)
		}
	}
	if len(dps) > 0 {
		for _, p := range dps.Sorted() {
			c.add(at(i, "definition"), "%s: %s", w.Definition, p.String())
		}
		return nil, nil
	}
	warnings = append(warnings, compile.Warnings(doc)...)
	for _, p := range unused {
		warnings.Warn(at(i, "resources")+p.Pointer, p.Message)
	}
	return wf, warnings
}
