package kafka

import (
	"time"

	"github.com/stepstream/express/express"
)

// LogExecution logs an execution that ran outside a Processor (the Step
// Functions API's StartSyncExecution and in-process StartExecution) as
// Processors log theirs, under the same level, rate bounds and queue: at
// ALL its start and end, at FATAL and ERROR its failure (the state that
// failed it, error, cause or cause_length). The lines carry
// an empty topic, partition 0 and offset 0 (there is no record); input is
// the execution input's JSON text, logged with IncludeData. State events
// are not logged for such executions. Nil-safe; never blocks.
func (l *ExecutionLog) LogExecution(workflow string, input []byte, res *express.Result) {
	if l == nil || l.level == LogOff {
		return
	}
	now := time.Now()
	ev := logEvent{workflow: workflow, exec: res.Name, t: res.Stop, dur: res.Stop.Sub(res.Start)}
	all := l.level == LogAll && l.admit(classAll, now)
	if all {
		start := ev
		start.kind, start.t, start.dur = evExecStarted, res.Start, 0
		if l.data {
			start.input = input
		}
		l.send(start)
	}
	if res.Status == express.Succeeded {
		if all {
			ev.kind = evExecSucceeded
			if l.data {
				ev.output, ev.hasOutput = res.Output, true
			}
			l.send(ev)
		}
		return
	}
	if !all && !l.admit(classExec, now) {
		return
	}
	ev.kind, ev.class = evExecFailed, classExec
	switch res.Status {
	case express.TimedOut:
		ev.kind = evExecTimedOut
	case express.Aborted:
		ev.kind = evExecAborted
	}
	ev.errName, ev.cause, ev.state = res.Error, res.Cause, res.State
	if l.data {
		ev.input = input
	}
	l.send(ev)
}
