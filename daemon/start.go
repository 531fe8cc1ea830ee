package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/stepstream/express/daemon/config"
)

// Started is a daemon running in the background (see Start).
type Started struct {
	// Brokers are the broker addresses (the embedded broker's when the
	// config names none); MetricsAddr is where /metrics is served ("" when
	// off).
	Brokers     []string
	MetricsAddr string
	// APIAddr is where the Step Functions API listens ("" when off).
	APIAddr string

	cancel  context.CancelFunc
	done    chan error
	stopped sync.Once
	err     error
}

// Start runs Run in the background and returns once everything is running.
// ctx bounds the start only, as a dial's context does: once started, the
// daemon runs until Stop. A config problem or a failed start is returned.
func Start(ctx context.Context, f *config.File, o Options) (*Started, error) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Started{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	onAPI := o.APIReady
	o.APIReady = func(addr string) {
		s.APIAddr = addr
		if onAPI != nil {
			onAPI(addr)
		}
	}
	onReady := o.Ready
	o.Ready = func(brokers []string, metricsAddr string) {
		s.Brokers, s.MetricsAddr = brokers, metricsAddr
		if onReady != nil {
			onReady(brokers, metricsAddr)
		}
		close(ready)
	}
	go func() { s.done <- Run(runCtx, f, o) }()
	select {
	case <-ready:
		return s, nil
	case err := <-s.done:
		cancel()
		if err == nil {
			err = errors.New("daemon: stopped before it was ready")
		}
		return nil, err
	case <-ctx.Done():
		cancel()
		<-s.done
		return nil, ctx.Err()
	}
}

// Stop shuts the daemon down as a signal does (in-flight executions drain,
// offsets are committed) and returns Run's error; calling it again returns
// the same.
func (s *Started) Stop() error {
	s.stopped.Do(func() {
		s.cancel()
		s.err = <-s.done
	})
	return s.err
}
