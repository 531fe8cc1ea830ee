package resources

import (
	"fmt"
	"strings"
)

// namer says which parameter of an integration names the call's target and
// how a name is shortened when it is looked up (as the integration's build
// does).
type namer struct {
	fields []string
	short  func(string) string
}

// namers are the integrations whose Task parameters pick one target per
// call. events:putEvents (one target per entry) and http:invoke (an
// allowlist) are not among them.
var namers = map[string]namer{
	LambdaInvoke: {[]string{"FunctionName"}, lambdaName},
	SNSPublish:   {[]string{"TopicArn", "TargetArn"}, func(s string) string { return lastSegment(s, ":") }},
	SQSSend:      {[]string{"QueueUrl"}, func(s string) string { return lastSegment(strings.TrimSuffix(s, "/"), "/") }},
}

// NamedTarget returns the parameter of an optimised integration that names
// a call's target (FunctionName for lambda:invoke, TopicArn or TargetArn
// for sns:publish, QueueUrl for sqs:sendMessage) and its value, when a
// Task's Parameters or Arguments (params, as written in the definition)
// give it as a constant. ok is false for any other resource and when the
// name is computed at run time (FunctionName.$, a JSONata "{% %}" value).
func NamedTarget(resource string, params map[string]any) (field, name string, ok bool) {
	n, known := namers[baseResource(resource)]
	if !known {
		return "", "", false
	}
	for _, f := range n.fields {
		if s, isStr := params[f].(string); isStr && s != "" && !strings.HasPrefix(s, "{%") {
			return f, s, true
		}
	}
	return "", "", false
}

// CheckNamed reports whether a call of the integration resource naming the
// target name (see NamedTarget) finds a target, as Invoke would: mapped by
// that name, by its short name (a function's name for its ARN), or the
// integration's own default target.
func (r *Resources) CheckNamed(resource, name string) error {
	base := baseResource(resource)
	n, known := namers[base]
	if !known {
		return r.CheckResource(resource)
	}
	if _, ok := r.lookup(name, n.short(name)); ok {
		return nil
	}
	if _, ok := r.routes[base]; ok {
		return nil
	}
	return fmt.Errorf("no target is configured for %q: add --resource %s=%s", name, name, kindForms())
}

// IntegrationOf returns the optimised integration a Task Resource names
// (arn:aws:states:::lambda:invoke for its ".sync" and ":2" forms too), ""
// for a plain resource.
func IntegrationOf(resource string) string {
	if in := integrationFor(resource); in != nil {
		return in.resource
	}
	return ""
}
