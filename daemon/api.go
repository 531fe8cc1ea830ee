package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/mockconfig"
	"github.com/stepstream/express/resources"
)

// DefaultAPIAddr is where `serve --demo` serves the Step Functions API
// unless told otherwise (a free port of 127.0.0.1 when it is busy).
const DefaultAPIAddr = "127.0.0.1:8083"

// apiServer serves the Step Functions API when the config has an api
// address: state machines created through it run with the api section's
// resources, and every configured workflow is a state machine of its name
// whose StartExecution produces to the workflow's first input topic.
func (r *run) apiServer(context.Context) error {
	a := r.f.API
	if !a.Enabled() {
		return nil
	}
	routes, err := config.APIRoutes(r.f)
	if err != nil {
		return err
	}
	res, err := resources.New(resources.Config{Routes: routes, Producer: r.producer, HTTPTimeout: a.APITimeout()})
	if err != nil {
		return fmt.Errorf("api: resources: %w", err)
	}
	o := api.Options{Region: a.Region, Account: a.Account, Invoker: res, CheckResource: res.CheckResource,
		Hooks: r.metrics.Hooks, BuildPool: r.pool, StateDir: a.StateDir, Registerer: r.reg, Logger: r.o.Logger,
		ExecutionLog: r.xlog}
	if r.console != nil {
		// the console counts API state machines' transitions and keeps
		// their sampled and failed executions, as the workflows'
		o.Hooks = func(name string) express.Hooks { return r.consoleHooks(name, r.metrics.Hooks(name)) }
		o.Observer = func(name, def string) kafka.Observer { return r.console.APIStateMachine(name, def) }
	}
	if a.Credentials != "" {
		if o.Credentials, err = api.ReadCredentials(a.Credentials); err != nil {
			return fmt.Errorf("api credentials: %w", err)
		}
	}
	if mc := cmp.Or(a.MockConfig, os.Getenv("SFN_MOCK_CONFIG")); mc != "" {
		// SFN_MOCK_CONFIG is where Step Functions Local takes it from
		if o.MockConfig, err = mockconfig.Load(mc); err != nil {
			return fmt.Errorf("api mock configuration: %w", err)
		}
	}
	s, err := api.New(o)
	if err != nil {
		return err
	}
	r.apiMachines.s.Store(s)
	r.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	for _, w := range r.resolved {
		if err := s.Bind(w.Config.Name, string(w.Definition), w.Workflow.WithBuildPool(r.pool), topicStarter{r.producer, w.Options.Topics[0]}); err != nil {
			return fmt.Errorf("api: workflow %q: %w", w.Config.Name, err)
		}
	}
	ln, err := net.Listen("tcp", a.Addr)
	if err != nil && r.o.APIFallback && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(a.Addr)
		fmt.Fprintf(r.o.Out, "express: %s is busy: the Step Functions API takes a free port\n", a.Addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return fmt.Errorf("api addr: %w", err)
	}
	r.apiAddr = ln.Addr().String()
	r.apiSrv = s.NewHTTPServer()
	r.wg.Add(1)
	go func() { defer r.wg.Done(); _ = r.apiSrv.Serve(ln) }()
	fmt.Fprintf(r.o.Out, "express: Step Functions API on http://%s (aws stepfunctions --endpoint-url http://%s ...)\n", r.apiAddr, r.apiAddr)
	if r.o.APIReady != nil {
		r.o.APIReady(r.apiAddr)
	}
	return nil
}

// topicStarter hands StartExecution's executions of a configured workflow
// to its input topic: the input as the record value, the execution name as
// its key and Idempotency-Key header; it returns once the broker
// acknowledged the record.
type topicStarter struct {
	p     resources.Producer
	topic string
}

func (t topicStarter) Start(ctx context.Context, name string, input []byte) error {
	rec := &kgo.Record{Topic: t.topic, Key: []byte(name), Value: input,
		Headers: []kgo.RecordHeader{{Key: "Idempotency-Key", Value: []byte(name)}}}
	return t.p.ProduceSync(ctx, rec).FirstErr()
}
