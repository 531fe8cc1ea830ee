package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// LogLevel is the level of execution logs, as Express workflows name them.
type LogLevel uint8

// Execution log levels, from quietest to most verbose.
const (
	// LogOff writes no execution logs.
	LogOff LogLevel = iota
	// LogFatal logs executions that failed, timed out or were aborted.
	LogFatal
	// LogError adds the states that ended with an error (caught, retried
	// or not).
	LogError
	// LogAll logs every event: execution started and succeeded, and each
	// state entered and exited.
	LogAll
)

// ParseLogLevel parses ALL, ERROR, FATAL or OFF, in any case.
func ParseLogLevel(s string) (LogLevel, error) {
	switch strings.ToUpper(s) {
	case "OFF":
		return LogOff, nil
	case "FATAL":
		return LogFatal, nil
	case "ERROR":
		return LogError, nil
	case "ALL":
		return LogAll, nil
	}
	return 0, fmt.Errorf("%q is not one of ALL, ERROR, FATAL, OFF", s)
}

// String returns the level's name: ALL, ERROR, FATAL or OFF.
func (l LogLevel) String() string {
	switch l {
	case LogOff:
		return "OFF"
	case LogFatal:
		return "FATAL"
	case LogError:
		return "ERROR"
	case LogAll:
		return "ALL"
	}
	return fmt.Sprintf("LogLevel(%d)", int(l))
}

// Defaults of ExecutionLogOptions.
const (
	DefaultLogMaxPerSecond = 1000
	DefaultLogQueueSize    = 8192
)

// ExecutionLogOptions configure an ExecutionLog.
type ExecutionLogOptions struct {
	Level LogLevel
	// IncludeData adds the execution input (the record value) to the
	// lines of started and failed executions, the output to the lines of
	// succeeded ones, and the error cause to the lines of failures
	// (without it they carry cause_length: causes often quote the data).
	// It may put personal data in the logs.
	IncludeData bool
	// MaxPerSecond bounds, per second, the failed-execution lines (slog
	// level ERROR), the failed-state lines (WARN), and the executions
	// logged with all their events at level ALL (INFO): beyond it lines
	// are dropped and counted. 0 means DefaultLogMaxPerSecond; negative
	// means no bound.
	MaxPerSecond int
	// QueueSize is the number of lines waiting for the writer; when it is
	// full lines are dropped and counted. 0 means DefaultLogQueueSize.
	QueueSize int
	// Registerer, when set, receives express_log_lines_total and
	// express_log_lines_dropped_total.
	Registerer prometheus.Registerer
}

// ExecutionLog writes execution logs as slog records (JSON lines with a
// slog.JSONHandler) without ever blocking an execution: events are queued
// on a bounded channel and written by one goroutine; when the queue is full
// or a rate bound is reached they are dropped and counted. Give it to any
// number of Processors through Options.ExecutionLog; Close it after they
// have stopped. Safe for concurrent use.
//
// Every line carries type (ExecutionStarted, ExecutionSucceeded,
// ExecutionFailed, ExecutionTimedOut, ExecutionAborted, StateEntered,
// StateExited, StateFailed), workflow, execution (the execution name, that
// is the idempotency key), topic, partition and offset of the source
// record; failures add error, state (for a failed execution, the last
// state that ended with an error) and the cause: its length in bytes as
// cause_length, or, with IncludeData, the cause itself; state lines add
// state, state_type and, on exit, duration_ms.
type ExecutionLog struct {
	level LogLevel
	data  bool
	h     slog.Handler
	ch    chan logEvent
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	lim                      [3]limiter // by logClass
	written, dropped         atomic.Int64
	linesBy                  [3]prometheus.Counter
	droppedRate, droppedFull prometheus.Counter
}

// Log classes: each has its own rate bound and slog level.
const (
	classAll   = iota // INFO: ALL-level events (bounded per execution)
	classState        // WARN: failed states
	classExec         // ERROR: failed executions
)

// NewExecutionLog starts the writer goroutine; lines go to h.
func NewExecutionLog(h slog.Handler, o ExecutionLogOptions) (*ExecutionLog, error) {
	if o.MaxPerSecond == 0 {
		o.MaxPerSecond = DefaultLogMaxPerSecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultLogQueueSize
	}
	l := &ExecutionLog{level: o.Level, data: o.IncludeData, h: h,
		ch: make(chan logEvent, o.QueueSize), stop: make(chan struct{}), done: make(chan struct{})}
	for i := range l.lim {
		l.lim[i].max = int64(o.MaxPerSecond)
	}
	if o.Registerer != nil {
		lines := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_log_lines_total",
			Help: "Execution log lines written, by slog level (info, warn, error)."}, []string{"level"})
		dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_log_lines_dropped_total",
			Help: "Execution log lines dropped, by reason (rate_limited, queue_full)."}, []string{"reason"})
		for _, c := range []prometheus.Collector{lines, dropped} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
		l.linesBy = [3]prometheus.Counter{lines.WithLabelValues("info"), lines.WithLabelValues("warn"), lines.WithLabelValues("error")}
		l.droppedRate, l.droppedFull = dropped.WithLabelValues("rate_limited"), dropped.WithLabelValues("queue_full")
	}
	go l.writer()
	return l, nil
}

// Level returns the log level.
func (l *ExecutionLog) Level() LogLevel { return l.level }

// Written returns the number of lines written so far.
func (l *ExecutionLog) Written() int64 { return l.written.Load() }

// Dropped returns the number of lines dropped so far (rate bound or full
// queue).
func (l *ExecutionLog) Dropped() int64 { return l.dropped.Load() }

// Close writes the queued lines and stops the writer. Lines logged after
// Close are dropped. Close may be called more than once.
func (l *ExecutionLog) Close() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// limiter admits up to max events per wall-clock second.
type limiter struct {
	max int64
	sec atomic.Int64
	n   atomic.Int64
}

func (m *limiter) allow(now time.Time) bool {
	if m.max < 0 {
		return true
	}
	sec := now.Unix()
	if s := m.sec.Load(); s != sec && m.sec.CompareAndSwap(s, sec) {
		m.n.Store(0)
	}
	return m.n.Add(1) <= m.max
}

type eventKind uint8

const (
	evExecStarted eventKind = iota
	evExecSucceeded
	evExecFailed
	evExecTimedOut
	evExecAborted
	evStateEntered
	evStateExited
	evStateFailed
)

var eventNames = [...]struct{ typ, msg string }{
	evExecStarted:   {"ExecutionStarted", "execution started"},
	evExecSucceeded: {"ExecutionSucceeded", "execution succeeded"},
	evExecFailed:    {"ExecutionFailed", "execution failed"},
	evExecTimedOut:  {"ExecutionTimedOut", "execution timed out"},
	evExecAborted:   {"ExecutionAborted", "execution aborted"},
	evStateEntered:  {"StateEntered", "state entered"},
	evStateExited:   {"StateExited", "state exited"},
	evStateFailed:   {"StateFailed", "state failed"},
}

// logEvent is one line to write; it holds only immutable values.
type logEvent struct {
	kind      eventKind
	class     uint8
	t         time.Time
	workflow  string
	exec      string
	topic     string
	partition int32
	offset    int64
	state     string
	stateType string
	dur       time.Duration
	errName   string
	cause     string
	input     []byte
	output    any
	hasOutput bool
}

// slotLog is the per-slot logging state: the workflow copy whose hooks know
// the slot, built once per slot.
type slotLog struct {
	wf     *express.Workflow
	all    bool                   // this execution is logged at level ALL
	failed atomic.Pointer[string] // last state that ended with an error
}

// logsOutput reports whether l writes execution outputs (which must then
// be plain JSON values, not the engine's raw objects). Nil-safe.
func (l *ExecutionLog) logsOutput() bool { return l != nil && l.level == LogAll && l.data }

// begin prepares s's execution and returns the workflow to run it on.
func (l *ExecutionLog) begin(s *slot) *express.Workflow {
	p := s.p
	if l.level == LogOff {
		return p.wf
	}
	x := s.xl
	if x == nil {
		x = &slotLog{}
		x.wf = p.wf.WithHooks(l.hooks(p.o.Hooks, s, x))
		s.xl = x
	}
	x.failed.Store(nil)
	x.all = false
	if l.level == LogAll {
		now := time.Now()
		if x.all = l.admit(classAll, now); x.all {
			ev := l.event(s, evExecStarted, now)
			if l.data {
				ev.input = s.rec.Value
			}
			l.send(ev)
		}
	}
	return x.wf
}

// end logs the result of s's execution.
func (l *ExecutionLog) end(s *slot, res *express.Result) {
	x := s.xl
	if l.level == LogOff || x == nil {
		return
	}
	if res.Status == express.Succeeded {
		if x.all {
			ev := l.event(s, evExecSucceeded, res.Stop)
			ev.dur = res.Stop.Sub(res.Start)
			if l.data {
				ev.output, ev.hasOutput = res.Output, true
			}
			l.send(ev)
		}
		return
	}
	if !x.all && !l.admit(classExec, res.Stop) {
		return
	}
	kind := evExecFailed
	switch res.Status {
	case express.TimedOut:
		kind = evExecTimedOut
	case express.Aborted:
		kind = evExecAborted
	}
	ev := l.event(s, kind, res.Stop)
	ev.class = classExec
	ev.dur = res.Stop.Sub(res.Start)
	ev.errName, ev.cause = res.Error, res.Cause
	if st := x.failed.Load(); st != nil {
		ev.state = *st
	}
	if l.data {
		ev.input = s.rec.Value
	}
	l.send(ev)
}

// hooks are base plus a StateExit that records the failed state and logs
// state events for the execution running in s.
func (l *ExecutionLog) hooks(base express.Hooks, s *slot, x *slotLog) express.Hooks {
	h := base
	exit := base.StateExit
	h.StateExit = func(wf *express.Workflow, state, typ string, d time.Duration, err *express.Error) {
		if exit != nil {
			exit(wf, state, typ, d, err)
		}
		if err != nil {
			name := state
			x.failed.Store(&name)
		}
		switch {
		case x.all:
			now := time.Now()
			ev := l.event(s, evStateEntered, now.Add(-d))
			ev.state, ev.stateType = state, typ
			l.send(ev)
			ev.t, ev.kind, ev.dur = now, evStateExited, d
			if err != nil {
				ev.kind, ev.class, ev.errName, ev.cause = evStateFailed, classState, err.Name, err.Cause
			}
			l.send(ev)
		case err != nil && l.level >= LogError:
			now := time.Now()
			if !l.admit(classState, now) {
				return
			}
			ev := l.event(s, evStateFailed, now)
			ev.class, ev.state, ev.stateType, ev.dur, ev.errName, ev.cause = classState, state, typ, d, err.Name, err.Cause
			l.send(ev)
		}
	}
	return h
}

func (l *ExecutionLog) event(s *slot, kind eventKind, t time.Time) logEvent {
	r := s.rec
	return logEvent{kind: kind, t: t, workflow: s.p.o.Workflow.Name(), exec: s.name,
		topic: r.Topic, partition: r.Partition, offset: r.Offset}
}

func (l *ExecutionLog) admit(class int, now time.Time) bool {
	if l.lim[class].allow(now) {
		return true
	}
	l.dropped.Add(1)
	if l.droppedRate != nil {
		l.droppedRate.Inc()
	}
	return false
}

// send queues ev without blocking.
func (l *ExecutionLog) send(ev logEvent) {
	select {
	case <-l.stop:
	case l.ch <- ev:
		return
	default:
	}
	l.dropped.Add(1)
	if l.droppedFull != nil {
		l.droppedFull.Inc()
	}
}

func (l *ExecutionLog) writer() {
	defer close(l.done)
	for {
		select {
		case ev := <-l.ch:
			l.write(ev)
		case <-l.stop:
			for {
				select {
				case ev := <-l.ch:
					l.write(ev)
				default:
					return
				}
			}
		}
	}
}

var slogLevels = [3]slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError}

func (l *ExecutionLog) write(ev logEvent) {
	level := slogLevels[ev.class]
	if ev.class == classAll && ev.kind >= evExecFailed && ev.kind <= evExecAborted {
		level = slog.LevelError
	}
	name := eventNames[ev.kind]
	r := slog.NewRecord(ev.t, level, name.msg, 0)
	r.AddAttrs(slog.String("type", name.typ), slog.String("workflow", ev.workflow), slog.String("execution", ev.exec),
		slog.String("topic", ev.topic), slog.Int("partition", int(ev.partition)), slog.Int64("offset", ev.offset))
	if ev.state != "" {
		r.AddAttrs(slog.String("state", ev.state))
	}
	if ev.stateType != "" {
		r.AddAttrs(slog.String("state_type", ev.stateType))
	}
	if ev.kind != evExecStarted && ev.kind != evStateEntered {
		r.AddAttrs(slog.Float64("duration_ms", float64(ev.dur.Microseconds())/1000))
	}
	if ev.kind == evExecFailed || ev.kind == evExecTimedOut || ev.kind == evExecAborted || ev.kind == evStateFailed {
		r.AddAttrs(slog.String("error", ev.errName))
		// A cause often quotes the data (a States.Runtime cause quotes the
		// JSON it could not use, a Task's the service's answer): it is
		// execution data.
		if l.data {
			r.AddAttrs(slog.String("cause", ev.cause))
		} else {
			r.AddAttrs(slog.Int("cause_length", len(ev.cause)))
		}
	}
	if ev.input != nil {
		r.AddAttrs(slog.Any("input", rawJSON(ev.input)))
	}
	if ev.hasOutput {
		r.AddAttrs(slog.Any("output", outputJSON(ev.output)))
	}
	_ = l.h.Handle(context.Background(), r)
	l.written.Add(1)
	if l.linesBy[0] != nil {
		c := 0
		switch level {
		case slog.LevelWarn:
			c = 1
		case slog.LevelError:
			c = 2
		}
		l.linesBy[c].Inc()
	}
}

// rawJSON returns b as a value a slog.JSONHandler writes unchanged when it
// is valid JSON, or as a string otherwise.
func rawJSON(b []byte) any {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}

func outputJSON(v any) (out any) {
	defer func() {
		if recover() != nil {
			out = "(output not serialisable)"
		}
	}()
	// jsonv writes the engine's objects (record values are parsed into
	// them) as well as plain values.
	return json.RawMessage(jsonv.AppendJSON(nil, v))
}
