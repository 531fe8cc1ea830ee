package daemon

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/console"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
)

// The console (package console) is served under /ui on the metrics
// address unless Options.NoConsole is set. These are its steps in Run.

// newConsole makes the console when there is a metrics address.
func (r *run) newConsole() {
	if r.f.MetricsAddr == "" || r.o.NoConsole {
		return
	}
	others := r.o.ConsoleStateMachines
	if others == nil {
		// the state machines created through the Step Functions API, once
		// apiServer has started it
		others = &r.apiMachines
	}
	r.console = console.New(console.Options{Gatherer: r.reg, ExecutionData: r.o.LogExecutionData,
		SamplePerSecond: r.o.ConsoleSamplePerSecond, Others: others})
}

// apiMachines lists the API's state machines to the console: those
// created through it (the daemon's own workflows are the console's
// already). Empty until the API server is set.
type apiMachines struct{ s atomic.Pointer[api.Server] }

func (a *apiMachines) StateMachines() []console.StateMachine {
	s := a.s.Load()
	if s == nil {
		return nil
	}
	var out []console.StateMachine
	for _, m := range s.StateMachines() {
		if m.Configured {
			continue
		}
		out = append(out, console.StateMachine{Name: m.Name, StateMachineArn: m.StateMachineArn, Type: m.Type,
			Definition: []byte(m.Definition), CreationDate: m.CreationDate})
	}
	return out
}

// consoleHooks adds the console's transition counting to a workflow's hooks.
func (r *run) consoleHooks(name string, h express.Hooks) express.Hooks {
	if r.console == nil {
		return h
	}
	return r.console.Workflow(name).Hooks(h)
}

// consoleDefinitions gives the console every workflow's definition.
func (r *run) consoleDefinitions() error {
	if r.console == nil {
		return nil
	}
	for _, w := range r.resolved {
		if err := r.console.Workflow(w.Config.Name).SetDefinition(w.Definition); err != nil {
			return fmt.Errorf("workflow %q: console: %w", w.Config.Name, err)
		}
	}
	return nil
}

// consoleObserver is the observer of a workflow's processor, or nil.
func (r *run) consoleObserver(name string) kafka.Observer {
	if r.console == nil {
		return nil
	}
	return r.console.Workflow(name)
}

// withConsole serves the console under /ui beside h, and keeps its
// figures up to date until ctx is done.
func (r *run) withConsole(ctx context.Context, h http.Handler) http.Handler {
	if r.console == nil {
		return h
	}
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.console.Run(ctx) }()
	ui := r.console.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/ui" || strings.HasPrefix(req.URL.Path, "/ui/") {
			ui.ServeHTTP(w, req)
			return
		}
		h.ServeHTTP(w, req)
	})
}
