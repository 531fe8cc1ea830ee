package compile

import (
	"strings"
	"time"

	"github.com/stepstream/express/express"
)

// task compiles a Task state: it hands its effective input to its Resource
// through Scope.Invoke.
func (sc *stateCompiler) task() {
	c := sc.c
	fl := sc.newFlow()
	sc.allow(fl.fields("Task"), "Resource", "Next", "End", "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds", "Credentials")
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl.compile(sc, ioFields{input: true, params: true, resultSel: true, resultPath: true, output: true, assign: true})
	fl.setResult(resultInvoked, nil)
	resource := ""
	if v, ok := sc.obj["Resource"]; !ok {
		c.problem(sc.ptr, "a Task needs a Resource: the ARN or URI of what to run")
	} else if s, ok := c.str(v, sc.field("Resource")); ok {
		resource = s
		if msg := checkResource(s); msg != "" {
			c.problem(sc.field("Resource"), "%s", msg)
		} else if c.opts.CheckResource != nil {
			if err := c.opts.CheckResource(s); err != nil {
				c.problem(sc.field("Resource"), "%v", err)
			}
		}
	}
	timeout := fl.seconds(sc, "TimeoutSeconds")
	heartbeat := fl.seconds(sc, "HeartbeatSeconds")
	var creds valueFn
	if v, ok := sc.obj["Credentials"]; ok {
		m, isObj := v.(map[string]any)
		_, hasRole := m["RoleArn"]
		_, hasRolePath := m["RoleArn.$"]
		if !isObj || !(hasRole || hasRolePath) {
			c.problem(sc.field("Credentials"), "Credentials must be an object with RoleArn (or RoleArn.$)")
		} else {
			creds = fl.credentials(sc, v)
		}
	}
	sc.retryCatch(fl)
	stateName, wfName := sc.name, c.opts.Name
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		req := s.TaskRequest()
		req.Resource, req.State, req.Workflow, req.Input = resource, stateName, wfName, eff
		if timeout != nil {
			if req.Timeout, err = timeout(s, in); err != nil {
				return nil, 0, err
			}
		}
		if heartbeat != nil {
			if req.Heartbeat, err = heartbeat(s, in); err != nil {
				return nil, 0, err
			}
		}
		if creds != nil {
			if req.Credentials, err = creds(s, in); err != nil {
				return nil, 0, err
			}
		}
		res, err := s.Invoke(req)
		if err != nil {
			return nil, 0, err
		}
		out, err := fl.finish(s, in, res)
		return out, next, err
	}
}

// literalSeconds compiles a literal positive number of seconds.
func (sc *stateCompiler) literalSeconds(field string, v any) durationFn {
	n, ok := sc.c.posInt(v, sc.field(field))
	if !ok {
		return nil
	}
	d := time.Duration(n) * time.Second
	return func(*express.Scope, any) (time.Duration, error) { return d, nil }
}

// checkResource rejects Task resources that need AWS itself.
func checkResource(r string) string {
	switch {
	case strings.HasSuffix(r, ".sync") || strings.Contains(r, ".sync:"):
		return "the .sync integration pattern waits for an AWS job and is not available here: call the service and poll it from a Task, or use a request-response integration"
	case strings.HasSuffix(r, ".waitForTaskToken"):
		return "the .waitForTaskToken pattern needs AWS's task-token callbacks and is not available here"
	case strings.Contains(r, ":activity:"):
		return "activities need AWS's activity workers and are not available here: use an HTTP or in-process resource"
	}
	const svc = "arn:aws:states:::"
	if strings.HasPrefix(r, svc) {
		rest := strings.TrimPrefix(r, svc)
		if strings.HasPrefix(rest, "aws-sdk:") {
			return ""
		}
		if !knownIntegrations[rest] {
			return "unknown service integration \"" + rest + "\": use an optimized integration (e.g. lambda:invoke, dynamodb:getItem, sns:publish) or an aws-sdk: one"
		}
	}
	return ""
}

var knownIntegrations = fieldSet(
	"lambda:invoke", "http:invoke", "apigateway:invoke", "sns:publish", "sqs:sendMessage", "events:putEvents",
	"dynamodb:getItem", "dynamodb:putItem", "dynamodb:updateItem", "dynamodb:deleteItem",
	"states:startExecution", "ecs:runTask", "batch:submitJob", "glue:startJobRun", "athena:startQueryExecution",
	"athena:getQueryExecution", "athena:getQueryResults", "athena:stopQueryExecution", "codebuild:startBuild",
	"eks:call", "eks:runJob", "emr-serverless:startJobRun", "bedrock:invokeModel", "sagemaker:createTransformJob",
	"sagemaker:createTrainingJob", "sagemaker:createEndpoint", "elasticmapreduce:addStep", "mediaconvert:createJob",
	"glue:startCrawler", "databrew:startJobRun", "eventbridge:putEvents", "scheduler:createSchedule",
)
