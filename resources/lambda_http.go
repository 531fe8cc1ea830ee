package resources

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// Lambda's conventions for URL targets. A Task calls a Lambda function
// when its Resource is a function ARN (arn:aws:lambda:…:function:…) or
// arn:aws:states:::lambda:invoke; when the function is mapped to a URL,
// the Payload is POSTed to it as the Lambda Invoke API takes it, so the
// AWS Lambda Runtime Interface Emulator's
// /2015-03-31/functions/function/invocations path, or a service that
// answers as Lambda does, is a target as it is. The answer is read as
// Step Functions reads Lambda's:
//
//   - a function error: an X-Amz-Function-Error header, or a body that is
//     an error object ({"errorType","errorMessage"} and at most "trace",
//     "stackTrace", "requestId", "cause"), whatever the status, fails
//     with the error name errorType and the body as cause
//     (Lambda.Unknown when the body names no errorType: AWS's name for
//     function timeouts and crashes);
//   - any other status outside 2xx is a Lambda service error,
//     Lambda.<code>: the code of an X-Amzn-ErrorType header, else 404
//     ResourceNotFoundException, 413 RequestTooLargeException, 415
//     UnsupportedMediaTypeException, 429 TooManyRequestsException, 5xx
//     ServiceException and any other AWSLambdaException, with AWS's cause
//     "message (Service: AWSLambda; Status Code: N; Error Code: code;
//     Request ID: id; Proxy: null)";
//   - no answer (connection refused, reset) is Lambda.SdkClientException
//     and no answer within the HTTP timeout (Config.HTTPTimeout)
//     Lambda.ClientExecutionTimeoutException, as the AWS SDK names them.
//
// Other URL targets (any other Task Resource, the targets of sns:publish,
// sqs:sendMessage, events:putEvents, http:invoke) fail with
// States.Http.StatusCode.NNN and States.Http.Socket.

// Error names of Lambda service failures, as Step Functions reports them.
const (
	ErrLambdaUnknown                = "Lambda.Unknown"
	ErrLambdaServiceException       = "Lambda.ServiceException"
	ErrLambdaAWSLambdaException     = "Lambda.AWSLambdaException"
	ErrLambdaSdkClientException     = "Lambda.SdkClientException"
	ErrLambdaTooManyRequests        = "Lambda.TooManyRequestsException"
	ErrLambdaClientExecutionTimeout = "Lambda.ClientExecutionTimeoutException"
	ErrLambdaResourceNotFound       = "Lambda.ResourceNotFoundException"
	lambdaExecutedVersionHeader     = "X-Amz-Executed-Version"
	lambdaRequestIDHeader           = "X-Amzn-Requestid" // canonical form of x-amzn-RequestId
	lambdaFunctionErrorHeader       = "X-Amz-Function-Error"
	lambdaErrorTypeHeader           = "X-Amzn-Errortype"
	lambdaDefaultExecutedVersion    = "$LATEST"
)

// invokeLambda posts payload to u as the Lambda Invoke API is called and
// returns the function's answer, with the response's status and headers
// (for lambda:invoke's envelope).
func invokeLambda(ctx context.Context, cfg *Config, req *express.TaskRequest, u *url.URL, payload any) (Reply, error) {
	body := jsonv.AppendJSON(nil, payload)
	cctx, cancel := context.WithTimeout(ctx, cfg.HTTPTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(cctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Reply{}, express.Errorf(express.ErrTaskFailed, "%v", err)
	}
	hr.Header["Content-Type"] = jsonContentType
	hr.Header["X-Amz-Invocation-Type"] = requestResponse
	callHeaders(hr.Header, req)
	resp, err := cfg.HTTPClient.Do(hr)
	if err != nil {
		return Reply{}, lambdaClientError(ctx, cctx, cfg, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return Reply{}, lambdaClientError(ctx, cctx, cfg, err)
	}
	if len(b) > maxResponseBytes {
		return Reply{}, express.Errorf(express.ErrDataLimitExceeded, "the response of %s is over %d bytes", u.Redacted(), maxResponseBytes)
	}
	if name, ok := functionError(resp.Header, b); ok {
		return Reply{}, express.Errorf(name, "%s", bytes.TrimSpace(b))
	}
	if resp.StatusCode/100 != 2 {
		return Reply{}, lambdaServiceError(resp, b)
	}
	rp := Reply{Size: len(b), Status: resp.StatusCode, Header: resp.Header}
	if len(bytes.TrimSpace(b)) == 0 {
		return rp, nil
	}
	v, err := jsonv.ParsePlain(b)
	if err != nil {
		return Reply{}, express.Errorf(express.ErrTaskFailed, "%s returned a payload that is not JSON: %v", u.Redacted(), err)
	}
	rp.Result = v
	return rp, nil
}

var (
	jsonContentType = []string{"application/json"}
	requestResponse = []string{"RequestResponse"}
)

// lambdaClientError names a call that got no answer as the AWS SDK does.
func lambdaClientError(ctx, cctx context.Context, cfg *Config, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // the engine turns it into States.Timeout
	case cctx.Err() != nil:
		return express.Errorf(ErrLambdaClientExecutionTimeout, "Client execution did not complete before the specified timeout configuration: %d millis", cfg.HTTPTimeout.Milliseconds())
	}
	return express.Errorf(ErrLambdaSdkClientException, "Unable to execute HTTP request: %v", err)
}

// errorObjectKeys are the fields of a Lambda error object.
var errorObjectKeys = map[string]bool{"errorType": true, "errorMessage": true, "trace": true, "stackTrace": true, "requestId": true, "cause": true}

// functionError reports whether an answer is a function error and its
// name: errorType, or Lambda.Unknown when a function error (the header)
// names no type.
func functionError(h http.Header, b []byte) (string, bool) {
	_, flagged := h[lambdaFunctionErrorHeader]
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' || !flagged && !bytes.Contains(b, []byte(`"errorType"`)) {
		if flagged {
			return ErrLambdaUnknown, true
		}
		return "", false
	}
	v, err := jsonv.ParsePlain(b)
	m, _ := v.(map[string]any)
	if err != nil || m == nil {
		return ErrLambdaUnknown, flagged
	}
	typ, _ := m["errorType"].(string)
	if flagged {
		if typ == "" {
			typ = ErrLambdaUnknown
		}
		return typ, true
	}
	if _, hasMsg := m["errorMessage"]; typ == "" || !hasMsg {
		return "", false
	}
	for k := range m {
		if !errorObjectKeys[k] {
			return "", false
		}
	}
	return typ, true
}

// lambdaServiceError is the error of a status outside 2xx that is not a
// function error.
func lambdaServiceError(resp *http.Response, b []byte) error {
	code, _, _ := strings.Cut(resp.Header.Get(lambdaErrorTypeHeader), ":")
	if code == "" {
		switch s := resp.StatusCode; {
		case s == 404:
			code = "ResourceNotFoundException"
		case s == 413:
			code = "RequestTooLargeException"
		case s == 415:
			code = "UnsupportedMediaTypeException"
		case s == 429:
			code = "TooManyRequestsException"
		case s >= 500:
			code = "ServiceException"
		default:
			code = "AWSLambdaException"
		}
	}
	msg := snippet(bytes.TrimSpace(b))
	if v, err := jsonv.ParsePlain(b); err == nil {
		if m, ok := v.(map[string]any); ok {
			for _, k := range []string{"message", "Message", "errorMessage"} {
				if s, ok := m[k].(string); ok {
					msg = s
					break
				}
			}
		}
	}
	return express.Errorf("Lambda."+code, "%s (Service: AWSLambda; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)",
		msg, resp.StatusCode, code, resp.Header.Get(lambdaRequestIDHeader))
}

// lambdaEnvelope is lambda:invoke's result as Step Functions returns it:
// ExecutedVersion, Payload, SdkHttpMetadata (AllHttpHeaders,
// HttpHeaders, HttpStatusCode), SdkResponseMetadata (RequestId) and
// StatusCode. A URL target's response headers are given as Go's
// net/http canonicalises their names, with X-Amz-Executed-Version
// ($LATEST) and x-amzn-RequestId added when the target sent none; other
// targets (static:, kafka:) answer with those two and Content-Type. A
// RequestId the target did not send is derived from the call's key and
// attempt, so it is the same when the record is run again.
func lambdaEnvelope(req *express.TaskRequest, rp Reply) map[string]any {
	status := rp.Status
	if status == 0 {
		status = 200
	}
	version := lambdaDefaultExecutedVersion
	requestID := ""
	if rp.Header != nil {
		if v := rp.Header.Get(lambdaExecutedVersionHeader); v != "" {
			version = v
		}
		requestID = rp.Header.Get(lambdaRequestIDHeader)
	}
	if requestID == "" {
		requestID = callUUID(req.CallKey() + "\x00" + strconv.Itoa(req.Attempt))
	}
	all := map[string]any{}
	one := map[string]any{}
	if rp.Header == nil {
		all["Content-Type"] = []any{"application/json"}
		one["Content-Type"] = "application/json"
	}
	for k, vs := range rp.Header {
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		all[k] = l
		one[k] = strings.Join(vs, ",")
	}
	if rp.Header.Get(lambdaExecutedVersionHeader) == "" {
		all[lambdaExecutedVersionHeader] = []any{version}
		one[lambdaExecutedVersionHeader] = version
	}
	if rp.Header.Get(lambdaRequestIDHeader) == "" {
		all["x-amzn-RequestId"] = []any{requestID}
		one["x-amzn-RequestId"] = requestID
	}
	return map[string]any{
		"ExecutedVersion": version,
		"Payload":         rp.plain(),
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": all,
			"HttpHeaders":    one,
			"HttpStatusCode": int64(status),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": requestID},
		"StatusCode":          int64(status),
	}
}

// attemptValue is the express-attempt header value of an attempt; the
// first ones are shared (header values are never modified).
func attemptValue(n int) []byte {
	if n >= 0 && n < len(smallAttempts) {
		return smallAttempts[n]
	}
	return strconv.AppendInt(nil, int64(n), 10)
}

var smallAttempts = [...][]byte{[]byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4"), []byte("5"), []byte("6"), []byte("7"), []byte("8"), []byte("9")}

// callUUID is a UUID-shaped id derived from s.
func callUUID(s string) string {
	h := sha1.Sum([]byte(s))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// callHeaders sets the headers every call to a URL target carries: the
// call's idempotency key (Idempotency-Key, express.TaskRequest.CallKey),
// its attempt (Express-Attempt: 0, then 1 after one Retry), the
// workflow, execution and state (Express-Workflow, Express-Execution,
// Express-State) and the headers passed on from the input record
// (TaskRequest.Headers: traceparent, tracestate by default). Headers
// named in an http:invoke's Headers are set after them and win.
func callHeaders(h http.Header, req *express.TaskRequest) {
	// one backing array for the five values
	v := [...]string{req.CallKey(), strconv.Itoa(req.Attempt), req.Workflow, req.Execution, req.State}
	vs := v[:]
	h["Idempotency-Key"] = vs[0:1:1]
	h["Express-Attempt"] = vs[1:2:2]
	h["Express-Workflow"] = vs[2:3:3]
	h["Express-Execution"] = vs[3:4:4]
	h["Express-State"] = vs[4:5:5]
	for _, x := range req.Headers {
		h.Set(x.Key, string(x.Value))
	}
}
