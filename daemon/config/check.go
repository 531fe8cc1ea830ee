package config

import (
	"errors"
	"fmt"
	"maps"
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
	var out []*Resolved
	for i := range f.Workflows {
		w := &f.Workflows[i]
		if w.Name == "" {
			c.add(at(i, "name"), "required")
		} else if j, dup := names[w.Name]; dup {
			c.add(at(i, "name"), "%q is also the name of /workflows/%d", w.Name, j)
		} else {
			names[w.Name] = i
		}
		o := c.kafkaOptions(i, w)
		routes, res := c.resources(i, w)
		def := c.definition(i, w)
		if def == nil || res == nil {
			continue
		}
		wf, warnings := c.compile(i, w, def, res)
		if wf == nil {
			continue
		}
		o.Workflow = wf
		out = append(out, &Resolved{Config: w, Workflow: wf, Resources: res, Options: o, Routes: routes, Warnings: warnings})
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
		MaxInFlightBytes: int64(w.MaxInFlightBytes), MaxRecordBytes: w.MaxRecordBytes, CommitInterval: time.Duration(w.CommitInterval),
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
		"max_build_bytes": int(w.MaxBuildBytes)} {
		if v < 0 {
			c.add(at(i, field), "%d is negative", v)
		}
	}
	if w.Concurrency > 1_000_000 {
		c.add(at(i, "concurrency"), "%d is over the limit of 1000000", w.Concurrency)
	}
	if w.Dedup != nil {
		o.DedupSize, o.DedupWindow = w.Dedup.Size, time.Duration(w.Dedup.Window)
		if w.Dedup.Size == 0 {
			o.DedupSize = -1
		}
	}
	return o
}

// resources parses the i-th workflow's resource targets and builds its
// invoker; the invoker is nil when a target is wrong.
func (c *checker) resources(i int, w *Workflow) (map[string][]resources.Target, *resources.Resources) {
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
	res, err := resources.New(resources.Config{Routes: routes, Producer: c.co.Producer, HTTPTimeout: time.Duration(w.HTTPTimeout)})
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
// hooks; it returns nil when the definition has problems, and the
// definition's warnings.
func (c *checker) compile(i int, w *Workflow, def []byte, res *resources.Resources) (*express.Workflow, diag.Problems) {
	copts := compile.Options{Name: w.Name, Invoker: res, CheckResource: res.CheckResource}
	if c.co.Hooks != nil {
		copts.Hooks = c.co.Hooks(w.Name)
	}
	wf, err := compile.Compile(def, copts)
	if err == nil && w.MaxBuildBytes != 0 {
		wf = wf.WithMaxBuildBytes(w.MaxBuildBytes)
	}
	if err != nil {
		var dps diag.Problems
		if errors.As(err, &dps) {
			for _, p := range dps {
				c.add(at(i, "definition"), "%s: %s", w.Definition, p.String())
			}
		} else {
			c.add(at(i, "definition"), "%s: %v", w.Definition, err)
		}
		return nil, nil
	}
	var warnings diag.Problems
	if doc, err := compile.Parse(def); err == nil {
		warnings = compile.Warnings(doc)
	}
	return wf, warnings
}
