package api

import (
	"encoding/json"
	"strconv"
	"time"
)

// Timestamp is a time in the AWS JSON 1.0 protocol: epoch seconds as a
// JSON number, with milliseconds as a fraction (1733390000.123).
type Timestamp time.Time

// MarshalJSON writes epoch seconds.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return appendTimestamp(nil, time.Time(t)), nil
}

// UnmarshalJSON reads epoch seconds (the form this server writes; the
// persisted state uses it too).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	ms := int64(f*1000 + 0.5)
	*t = Timestamp(time.UnixMilli(ms).UTC())
	return nil
}

// appendTimestamp appends t as epoch seconds with millisecond precision.
func appendTimestamp(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	b = strconv.AppendInt(b, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		b = append(b, '.')
		b = append(b, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// Tag is a key-value tag of a resource (shape Tag).
type Tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

// LoggingConfiguration is accepted, kept and echoed; executions here log
// as the daemon's --log-level says, not to CloudWatch Logs.
type LoggingConfiguration struct {
	Level                *string          `json:"level,omitempty"`
	IncludeExecutionData *bool            `json:"includeExecutionData,omitempty"`
	Destinations         []LogDestination `json:"destinations,omitempty"`
}

// LogDestination is one CloudWatch Logs destination (kept, not used).
type LogDestination struct {
	CloudWatchLogsLogGroup *struct {
		LogGroupArn *string `json:"logGroupArn,omitempty"`
	} `json:"cloudWatchLogsLogGroup,omitempty"`
}

// TracingConfiguration is accepted, kept and echoed (no X-Ray here).
type TracingConfiguration struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// EncryptionConfiguration is accepted and echoed (state is kept in clear).
type EncryptionConfiguration struct {
	KmsKeyID                     *string `json:"kmsKeyId,omitempty"`
	KmsDataKeyReusePeriodSeconds *int64  `json:"kmsDataKeyReusePeriodSeconds,omitempty"`
	Type                         *string `json:"type,omitempty"`
}

func (l *LoggingConfiguration) check(v *validation, field string) {
	if l == nil {
		return
	}
	v.enum(field+".level", l.Level, "ALL", "ERROR", "FATAL", "OFF")
	for i, d := range l.Destinations {
		if d.CloudWatchLogsLogGroup != nil {
			v.length(field+".destinations."+strconv.Itoa(i+1)+".member.cloudWatchLogsLogGroup.logGroupArn", d.CloudWatchLogsLogGroup.LogGroupArn, 1, 256)
		}
	}
}

func (e *EncryptionConfiguration) check(v *validation, field string) {
	if e == nil {
		return
	}
	v.required(field+".type", e.Type != nil)
	v.enum(field+".type", e.Type, "AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY")
	v.length(field+".kmsKeyId", e.KmsKeyID, 1, 2048)
	v.intRange(field+".kmsDataKeyReusePeriodSeconds", e.KmsDataKeyReusePeriodSeconds, 60, 900)
}

func checkTags(v *validation, field string, tags []Tag) {
	for i, t := range tags {
		f := field + "." + strconv.Itoa(i+1) + ".member"
		v.length(f+".key", t.Key, 1, 128)
		v.length(f+".value", t.Value, 0, 256)
	}
}

// marshal encodes a response document with encoding/json (operations off
// the hot path).
func marshal(v any) ([]byte, error) { return json.Marshal(v) }

func strconvAppendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
