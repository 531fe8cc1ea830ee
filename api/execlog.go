package api

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
)

// logStart writes ExecutionStarted at level ALL, as the daemon's execution
// log does (type, workflow, execution; input with LogExecutionData).
func (s *Server) logStart(sm, arn, input string) {
	l := s.o.ExecutionLog
	if l == nil || s.o.LogLevel < kafka.LogAll {
		return
	}
	attrs := []slog.Attr{slog.String("type", "ExecutionStarted"), slog.String("workflow", sm), slog.String("execution_arn", arn)}
	if s.o.LogExecutionData {
		attrs = append(attrs, slog.Any("input", json.RawMessage(orEmpty(input))))
	}
	l.LogAttrs(context.Background(), slog.LevelInfo, "execution started", attrs...)
}

// logEnd writes the execution's end: failures from level FATAL on,
// successes at ALL; error and the cause's length (the cause with
// LogExecutionData), duration_ms.
func (s *Server) logEnd(sm, arn string, res *express.Result, output []byte) {
	l := s.o.ExecutionLog
	if l == nil || s.o.LogLevel == kafka.LogOff {
		return
	}
	ok := res.Status == express.Succeeded
	if ok && s.o.LogLevel < kafka.LogAll {
		return
	}
	typ, msg, level := "ExecutionSucceeded", "execution succeeded", slog.LevelInfo
	switch res.Status {
	case express.Failed:
		typ, msg, level = "ExecutionFailed", "execution failed", slog.LevelError
	case express.TimedOut:
		typ, msg, level = "ExecutionTimedOut", "execution timed out", slog.LevelError
	case express.Aborted:
		typ, msg, level = "ExecutionAborted", "execution aborted", slog.LevelError
	}
	attrs := []slog.Attr{slog.String("type", typ), slog.String("workflow", sm), slog.String("execution", res.Name),
		slog.String("execution_arn", arn), slog.Float64("duration_ms", float64(res.Stop.Sub(res.Start).Microseconds())/1000)}
	if !ok {
		attrs = append(attrs, slog.String("error", res.Error))
		if res.State != "" {
			attrs = append(attrs, slog.String("state", res.State))
		}
		if s.o.LogExecutionData {
			attrs = append(attrs, slog.String("cause", res.Cause))
		} else {
			attrs = append(attrs, slog.Int("cause_length", len(res.Cause)))
		}
	} else if s.o.LogExecutionData && output != nil {
		attrs = append(attrs, slog.Any("output", json.RawMessage(output)))
	}
	l.LogAttrs(context.Background(), level, msg, attrs...)
}

func orEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}
