package resources

import (
	"context"
	"strings"

	"github.com/stepstream/express/express"
)

// LambdaInvoke is the optimised Lambda integration. Its Parameters
// FunctionName (a name or an ARN, mapped as such or by the name of a
// mapped function ARN) picks the target, which gets the Payload; the
// result is AWS's envelope {ExecutedVersion, Payload, SdkHttpMetadata,
// SdkResponseMetadata, StatusCode} (lambdaEnvelope). A URL target is
// called as Lambda is (lambda_http.go).
const LambdaInvoke = "arn:aws:states:::lambda:invoke"

func init() { registerIntegration(lambdaInvoke) }

var lambdaInvoke = integration[call]{
	resource: LambdaInvoke,
	short:    lambdaNameIfLambda,
	check:    checkRoutes,
	build: func(r *Resources, req *express.TaskRequest, m map[string]any) (call, error) {
		fn := str(m, "FunctionName")
		t, ok := r.lookup(fn, lambdaName(fn))
		if !ok {
			t, ok = r.routes[LambdaInvoke]
		}
		if !ok {
			return call{}, express.Errorf(express.ErrTaskFailed, "no target is configured for Lambda function %q (state %q)", fn, req.State)
		}
		p := m["Payload"]
		return call{t, Message{Body: p, Value: p, Key: []byte(lambdaName(fn)), Lambda: true}}, nil
	},
	invoke: func(ctx context.Context, r *Resources, req *express.TaskRequest, c call) (any, error) {
		rp, err := r.send(ctx, req, c)
		if err != nil {
			return nil, err
		}
		return lambdaEnvelope(req, rp), nil
	},
}

// lambdaName is the function name in a function ARN (without a
// qualifier), or fn itself.
func lambdaName(fn string) string {
	if i := strings.Index(fn, ":function:"); i >= 0 {
		fn = fn[i+len(":function:"):]
	}
	if i := strings.IndexByte(fn, ':'); i >= 0 {
		fn = fn[:i] // qualifier
	}
	return fn
}

// lambdaNameIfLambda is the function name of a function ARN, "" for
// anything else. A plain Task Resource that is a function ARN finds its
// target by that name too.
func lambdaNameIfLambda(res string) string {
	if strings.HasPrefix(res, "arn:aws:lambda:") {
		return lambdaName(res)
	}
	return ""
}
