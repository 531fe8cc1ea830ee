"""Drives the Step Functions API with boto3, as a user's script would.

Usage: boto3_client.py ENDPOINT ACCESS_KEY SECRET
Prints one JSON document of what it saw; the Go test (clients_test.go)
judges it. Exits non-zero only when boto3 itself is missing or too old.
"""
import json
import sys

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, key, secret = sys.argv[1:4]


def client(secret_key):
    # inject_host_prefix=False: StartSyncExecution's "sync-" host prefix
    # cannot resolve for a local endpoint.
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret_key,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1, "mode": "standard"}),
    )


def error_code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"].get("HTTPStatusCode")
    return None, None


sfn = client(secret)
out = {"boto3": boto3.__version__, "botocore": botocore.__version__}
definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": True}}})
created = sfn.create_state_machine(
    name="boto3-sm",
    definition=definition,
    roleArn="arn:aws:iam::123456789012:role/r",
    type="EXPRESS",
    loggingConfiguration={"level": "ERROR", "includeExecutionData": False},
    tracingConfiguration={"enabled": False},
    tags=[{"key": "client", "value": "boto3"}],
)
out["create"] = {"stateMachineArn": created["stateMachineArn"], "creationDate": created["creationDate"].isoformat()}
desc = sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
out["describe"] = {k: desc[k] for k in ("name", "type", "status", "revisionId", "loggingConfiguration", "tracingConfiguration")}
run = sfn.start_sync_execution(stateMachineArn=created["stateMachineArn"], name="run-1", input=json.dumps({"a": 2, "b": 3}))
out["sync"] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in run.items() if k != "ResponseMetadata"}
out["sync"]["requestId"] = run["ResponseMetadata"].get("RequestId")
val = sfn.validate_state_machine_definition(definition=json.dumps({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}))
out["validate"] = {"result": val["result"], "diagnostics": val["diagnostics"]}
pages = sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 1})
out["listed"] = [m["name"] for page in pages for m in page["stateMachines"]]
out["tags"] = sfn.list_tags_for_resource(resourceArn=created["stateMachineArn"])["tags"]
out["errors"] = {
    "describe_missing": error_code(lambda: sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"] + "-missing")),
    "standard": error_code(lambda: sfn.create_state_machine(name="std", definition=definition, roleArn="arn:aws:iam::123456789012:role/r")),
    "bad_input": error_code(lambda: sfn.start_sync_execution(stateMachineArn=created["stateMachineArn"], input="{")),
    "bad_signature": error_code(lambda: client(secret + "x").list_state_machines()),
}
print(json.dumps(out))
