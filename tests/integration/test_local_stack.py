"""The docker-free local stack on a small fixture template: resources made from the template,
an HTTP API (payload format 2.0 events, an SQS-SendMessage route, route throttles), SQS
batches with partial failures, redelivery and dead-letter queues, worker timeouts and kills,
schedules, endpoints.json and a clean stop."""

import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.runtime.runtime import Invocation
from infra.local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "local_stack"
TIMEOUT = 5.0  # per HTTP request
WAIT = 30.0  # for asynchronous outcomes (redelivery, dead-letter queues)


def start_stack(state_dir: Path) -> LocalStack:
    options = LocalStackOptions(
        template_path=FIXTURE / "template.yaml",
        api_port=0,
        aws_port=0,
        state_dir=state_dir,
        # moto's state is per process: a stack name of its own keeps the names apart.
        stack_name=f"fx-{uuid.uuid4().hex[:8]}",
        # Longer than a batching window plus a cold start, so only failures come back.
        visibility_timeout=3,
        schedule_speedup=1.0,
    )
    return LocalStack(options).__enter__()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:
        # The developer's own AWS settings must not reach the functions.
        env.setenv("AWS_SECRET_ACCESS_KEY", "the-developers-own-secret")
        env.setenv("AWS_ENDPOINT_URL", "https://real-aws.invalid")
        env.setenv("AWS_PROFILE_FOR_TESTS", "leak")
        running = start_stack(tmp_path_factory.mktemp("local-stack"))
    try:
        yield running
    finally:
        running.stop()


def eventually[T](probe: Callable[[], T | None], timeout: float = WAIT) -> T:
    """The first truthy result of `probe`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"no result from {probe.__name__} within {timeout} s")


def queue_url(stack: LocalStack, logical_id: str) -> str:
    name = f"{stack.options.stack_name}-{logical_id}"
    return stack.clients.sqs().get_queue_url(QueueName=name)["QueueUrl"]


def queue_attributes(stack: LocalStack, url: str) -> dict[str, str]:
    response = stack.clients.sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return {str(name): value for name, value in response["Attributes"].items()}


def drain(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    """Receive and delete what the queue holds now."""
    client = stack.clients.sqs()
    response = client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )
    messages = response.get("Messages", [])
    for message in messages:
        client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [dict(message) for message in messages]


def deliveries(stack: LocalStack, pk: str) -> list[dict[str, Any]]:
    """What the fixture handlers recorded under `pk`, in sort-key order."""
    response = stack.clients.dynamodb().query(
        TableName=stack.endpoints["table_name"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return [json.loads(item["data"]["S"]) for item in response["Items"]]


def function(stack: LocalStack, logical_id: str) -> Any:
    return next(f for f in stack.functions if f.logical_id == logical_id)


# -- resources ------------------------------------------------------------------------


def test_table_has_the_templates_keys_indexes_ttl_and_stream(stack: LocalStack) -> None:
    client = stack.clients.dynamodb()
    table = client.describe_table(TableName=stack.endpoints["table_name"])["Table"]

    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byGsi1"
    assert index["KeySchema"] == [{"AttributeName": "gsi1pk", "KeyType": "HASH"}]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    ttl = client.describe_time_to_live(TableName=stack.endpoints["table_name"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiresAt"
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def test_queues_have_the_templates_attributes_and_redrive(stack: LocalStack) -> None:
    work = queue_attributes(stack, stack.endpoints["send_queue_url"])
    dead_letters = queue_attributes(stack, stack.endpoints["dlq_url"])
    ordered = queue_attributes(stack, queue_url(stack, "OrderedQueue.fifo"))

    assert work["VisibilityTimeout"] == "30"
    assert json.loads(work["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letters["QueueArn"],
        "maxReceiveCount": 2,
    }
    assert dead_letters["MessageRetentionPeriod"] == "1209600"
    assert ordered["FifoQueue"] == "true"
    assert ordered["ContentBasedDeduplication"] == "true"


def test_condition_false_resources_are_not_created(stack: LocalStack) -> None:
    urls = stack.clients.sqs().list_queues(QueueNamePrefix=stack.options.stack_name)["QueueUrls"]

    assert not [url for url in urls if url.endswith("-ProdOnlyQueue")]


def test_secrets_are_generated_as_the_template_asks(stack: LocalStack) -> None:
    client = stack.clients.secretsmanager()
    generated_arn = function(stack, "EchoFunction").environment["SECRET_ARN"]
    generated = client.get_secret_value(SecretId=generated_arn)["SecretString"]
    templated = json.loads(
        client.get_secret_value(SecretId=f"{stack.options.stack_name}/templated")["SecretString"]
    )

    assert len(generated) == 24
    assert generated.isalnum()
    assert templated["username"] == "gateway"
    assert len(templated["password"]) == 16


def test_bucket_and_event_bus_rule_to_queue(stack: LocalStack) -> None:
    env = function(stack, "EchoFunction").environment
    versioning = stack.clients.s3().get_bucket_versioning(Bucket=env["BUCKET"])
    bus_name = env["BUS_ARN"].rsplit("/", 1)[1]
    stack.clients.events().put_events(
        Entries=[
            {
                "Source": "fixture",
                "DetailType": "Test",
                "Detail": json.dumps({"n": 1}),
                "EventBusName": bus_name,
            }
        ]
    )

    events_queue = queue_url(stack, "EventsQueue")
    (message,) = eventually(lambda: drain(stack, events_queue))
    assert versioning["Status"] == "Enabled"
    assert json.loads(message["Body"])["detail"] == {"n": 1}


# -- API front ------------------------------------------------------------------------


def test_http_api_event_has_payload_format_2_fields(stack: LocalStack) -> None:
    api_url = stack.endpoints["api_url"]
    host, port = api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    connection.putrequest("GET", "/echo/abc?x=1&x=2&y=3")
    connection.putheader("X-Repeat", "first")
    connection.putheader("X-Repeat", "second")
    connection.putheader("Cookie", "a=1; b=2")
    connection.putheader("User-Agent", "fixture-agent/1.0")
    connection.endheaders()
    response = connection.getresponse()
    seen = json.loads(response.read())
    connection.close()
    event, context = seen["event"], seen["context"]
    echo = function(stack, "EchoFunction")

    assert response.status == 201
    assert response.headers.get_all("Set-Cookie") == ["first=1; Path=/", "second=2"]
    assert response.headers["X-Single"] == "one"
    assert response.headers["apigw-requestid"] == event["requestContext"]["requestId"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /echo/{id}"
    assert event["rawPath"] == "/test/echo/abc"
    assert event["rawQueryString"] == "x=1&x=2&y=3"
    assert event["pathParameters"] == {"id": "abc"}
    assert event["queryStringParameters"] == {"x": "1,2", "y": "3"}
    assert event["headers"]["x-repeat"] == "first,second"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    request_context = event["requestContext"]
    assert request_context["stage"] == "test"
    assert request_context["routeKey"] == "GET /echo/{id}"
    assert request_context["http"] == {
        "method": "GET",
        "path": "/test/echo/abc",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "fixture-agent/1.0",
    }
    assert request_context["accountId"] == "123456789012"
    assert request_context["apiId"]
    assert request_context["requestId"]
    assert isinstance(request_context["timeEpoch"], int)
    assert "authorizer" not in request_context
    assert context["function_name"] == echo.name
    assert context["invoked_function_arn"] == echo.arn
    assert context["memory_limit_in_mb"] == "192"
    assert context["function_version"] == "$LATEST"
    assert context["log_group_name"] == f"/aws/lambda/{echo.name}"
    assert context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= 5000


def test_function_environment_is_the_templates_plus_lambdas(stack: LocalStack) -> None:
    response = requests.get(f"{stack.endpoints['api_url']}/echo/env", timeout=TIMEOUT)
    seen = response.json()
    env = seen["env"]
    stack_name = stack.options.stack_name

    assert env["TABLE_NAME"] == stack.endpoints["table_name"]
    assert env["GREETING"] == "hello"
    assert env["QUEUE_URL"] == stack.endpoints["send_queue_url"]
    assert env["SUBSTITUTED"] == f"eu-west-1/{stack_name}-WorkQueue/hello/${{Literal}}"
    assert env["SUB_WITH_VARIABLES"] == "b@123456789012"
    assert env["JOINED"] == "x-y-z"
    assert env["CONDITIONAL"] == "chosen"
    assert "REMOVED" not in env
    assert env["AWS_ENDPOINT_URL"] == stack.endpoints["aws_endpoint_url"]
    assert env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert "AWS_PROFILE_FOR_TESTS" not in env
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == f"{stack_name}-EchoFunction"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert env["PYTHONPATH"].split(os.pathsep) == [
        str(FIXTURE / "functions"),
        str(FIXTURE / "layer"),
    ]
    assert seen["layer"] == "imported from the fixture layer"


def test_text_body_is_passed_as_text(stack: LocalStack) -> None:
    response = requests.post(
        f"{stack.endpoints['api_url']}/echo/x", json={"text": "héllo"}, timeout=TIMEOUT
    )
    event = response.json()["event"]

    assert json.loads(event["body"]) == {"text": "héllo"}
    assert event["isBase64Encoded"] is False
    assert "queryStringParameters" not in event


@pytest.mark.parametrize(
    "content_type",
    ["image/png", "application/octet-stream; q=1", "application/x-www-form-urlencoded", None],
)
def test_non_text_bodies_round_trip_byte_for_byte(
    stack: LocalStack, content_type: str | None
) -> None:
    """The echo answers with the request's bytes only when they came base64-encoded."""
    payload = bytes(range(256)) * 4  # not valid UTF-8
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = requests.post(
        f"{stack.endpoints['api_url']}/binary", data=payload, headers=headers, timeout=TIMEOUT
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.content == payload


def test_routes_prefer_literal_paths_and_proxy_takes_the_rest(stack: LocalStack) -> None:
    api_url = stack.endpoints["api_url"]
    index = requests.get(f"{api_url}/files/index", timeout=TIMEOUT).json()["event"]
    nested = requests.delete(f"{api_url}/files/a/b/c.txt", timeout=TIMEOUT).json()["event"]
    private = requests.get(f"{api_url}/private", timeout=TIMEOUT)

    assert index["routeKey"] == "GET /files/index"
    assert "pathParameters" not in index
    assert nested["routeKey"] == "ANY /files/{proxy+}"
    assert nested["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert private.status_code == 201  # AWS_IAM is not enforced locally


STAGE = "test"  # the fixture template's StageName


def test_urls_with_the_stage_in_front_reach_the_same_routes(stack: LocalStack) -> None:
    """As on AWS (https://{api}.execute-api.../{stage}/...), so links the API answers with work
    locally too; the event is the same either way."""
    api_url = stack.endpoints["api_url"]
    staged = requests.get(f"{api_url}/{STAGE}/files/index", timeout=TIMEOUT).json()["event"]

    assert staged["routeKey"] == "GET /files/index"
    assert staged["rawPath"] == f"/{STAGE}/files/index"


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("PUT", "/echo/x")])
def test_unknown_routes_get_not_found(stack: LocalStack, method: str, path: str) -> None:
    response = requests.request(method, f"{stack.endpoints['api_url']}{path}", timeout=TIMEOUT)

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


@pytest.mark.parametrize("asked", [{"raise": "boom"}, {"return": {"statusCode": 200, "body": 5}}])
def test_handler_error_or_malformed_response_is_a_500(
    stack: LocalStack, asked: dict[str, Any]
) -> None:
    response = requests.post(f"{stack.endpoints['api_url']}/work", json=asked, timeout=TIMEOUT)

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_a_result_without_status_code_is_a_200_of_json(stack: LocalStack) -> None:
    response = requests.post(f"{stack.endpoints['api_url']}/work", json={}, timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["pid"] > 0


def test_bodies_over_10_mb_are_refused_with_413(stack: LocalStack) -> None:
    response = requests.post(
        f"{stack.endpoints['api_url']}/echo/big", data=b"x" * (10 * 1024 * 1024 + 1), timeout=30
    )

    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_a_route_over_its_burst_is_throttled_while_others_are_not(stack: LocalStack) -> None:
    api_url = stack.endpoints["api_url"]
    # POST /limited: burst 2 (a parameter's Ref), refilled at 0.2 a second.
    limited = [requests.post(f"{api_url}/limited", timeout=TIMEOUT) for _ in range(3)]
    other = requests.post(f"{api_url}/echo/x", timeout=TIMEOUT)

    assert [r.status_code for r in limited] == [201, 201, 429]
    assert limited[-1].json() == {"message": "Too Many Requests"}
    assert other.status_code == 201


def test_a_sqs_route_puts_the_request_on_its_queue(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="infra.local.triggers.api")
    token = f"secret-{uuid.uuid4().hex}"
    response = requests.post(
        f"{stack.endpoints['api_url']}/inbox/{token}",
        json={"receipt": 1},
        headers={"User-Agent": "fixture/1.0"},
        timeout=TIMEOUT,
    )
    inbox = queue_url(stack, "InboxQueue")
    messages = stack.clients.sqs().receive_message(
        QueueUrl=inbox, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    for message in messages:
        stack.clients.sqs().delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])

    assert response.status_code == 200
    result = response.json()["SendMessageResponse"]["SendMessageResult"]
    (message,) = messages
    assert result["MessageId"] == message["MessageId"]
    assert json.loads(message["Body"]) == {"receipt": 1}
    attributes = {name: a["StringValue"] for name, a in message["MessageAttributes"].items()}
    assert attributes == {
        "token": token,
        "sourceIp": "127.0.0.1",
        "agent": "fixture/1.0/POST /inbox/{token}",
    }
    # The access log names the route, never the path with its token.
    lines = [r.getMessage() for r in caplog.records if r.name == "infra.local.triggers.api"]
    assert any('route="POST /inbox/{token}" status=200' in line for line in lines)
    assert not [line for line in lines if token in line]


def test_a_sqs_route_answers_sqs_refusal(stack: LocalStack) -> None:
    response = requests.post(f"{stack.endpoints['api_url']}/inbox/t", timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "MissingParameter"
    assert drain(stack, queue_url(stack, "InboxQueue")) == []


# -- SQS ------------------------------------------------------------------------------


def collect(stack: LocalStack, url: str, count: int) -> list[dict[str, Any]]:
    """Drain the queue until `count` messages came out (or WAIT passed)."""
    collected: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT
    while len(collected) < count and time.monotonic() < deadline:
        collected += drain(stack, url)
        time.sleep(0.2)
    return collected


def receive_counts(stack: LocalStack, body: str) -> list[str]:
    return [r["attributes"]["ApproximateReceiveCount"] for r in deliveries(stack, f"BATCH#{body}")]


def test_partial_batch_failures_are_redelivered_then_dead_lettered(stack: LocalStack) -> None:
    stack.clients.sqs().send_message_batch(
        QueueUrl=stack.endpoints["send_queue_url"],
        Entries=[
            {
                "Id": str(n),
                "MessageBody": str(n),
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "test"}},
            }
            for n in range(1, 7)
        ],
    )

    dead = collect(stack, stack.endpoints["dlq_url"], 3)

    assert sorted(message["Body"] for message in dead) == ["1", "3", "5"]
    for body in ("2", "4", "6"):  # succeeded at once: delivered once, then deleted
        assert receive_counts(stack, body) == ["1"]
    for body in ("1", "3", "5"):  # failed every time: maxReceiveCount deliveries
        assert receive_counts(stack, body) == ["1", "2"]
    attributes = queue_attributes(stack, stack.endpoints["send_queue_url"])
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_sqs_records_have_lambdas_shape(stack: LocalStack) -> None:
    client = stack.clients.sqs()
    client.send_message(
        QueueUrl=stack.endpoints["send_queue_url"],
        MessageBody="42",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "test"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )

    (record,) = eventually(lambda: deliveries(stack, "BATCH#42"))
    work_arn = queue_attributes(stack, stack.endpoints["send_queue_url"])["QueueArn"]
    assert record["body"] == "42"
    assert record["messageId"]
    assert record["receiptHandle"]
    assert record["md5OfBody"] == "a1d0c6e83f027327d8461063f4ac58a6"
    assert record["md5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == work_arn
    assert record["awsRegion"] == "eu-west-1"
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    } <= record["attributes"].keys()
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "test",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


def test_a_disabled_source_leaves_its_queue_to_build_up(stack: LocalStack) -> None:
    with stack.queue_sources_disabled("BatchFunction"):
        stack.clients.sqs().send_message(
            QueueUrl=stack.endpoints["send_queue_url"], MessageBody="100"
        )
        time.sleep(2.5)  # longer than a long poll and a batching window
        assert deliveries(stack, "BATCH#100") == []

    (record,) = eventually(lambda: deliveries(stack, "BATCH#100"))
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    with pytest.raises(LookupError):
        stack.queue_sources_disabled("EchoFunction").__enter__()


def test_failed_invocation_deletes_nothing(stack: LocalStack) -> None:
    poison_queue = queue_url(stack, "PoisonQueue")
    stack.clients.sqs().send_message(QueueUrl=poison_queue, MessageBody="poison")

    (dead,) = collect(stack, queue_url(stack, "PoisonDeadLetterQueue"), 1)

    # Received twice (maxReceiveCount), never deleted: moto moved it on the third receive.
    assert dead["Body"] == "poison"
    assert dead["Attributes"]["ApproximateReceiveCount"] == "3"


# -- workers --------------------------------------------------------------------------


def pid_of(invocation: Invocation) -> int:
    assert invocation.error is None, invocation.error
    pid: int = invocation.result["pid"]
    return pid


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_moto_serves_from_a_process_of_its_own(stack: LocalStack) -> None:
    """AWS is an outside system: the stack's own threads never hold moto's interpreter."""
    assert stack.moto_pid != os.getpid()
    assert process_exists(stack.moto_pid)
    tables = stack.clients.dynamodb().list_tables()["TableNames"]
    assert tables


def test_handler_exception_is_reported_and_the_worker_stays_warm(stack: LocalStack) -> None:
    before = pid_of(stack.invoke("WorkerFunction", {}))
    failed = stack.invoke("WorkerFunction", {"raise": "boom"})
    after = pid_of(stack.invoke("WorkerFunction", {}))

    assert failed.error is not None
    assert (failed.error.error_type, failed.error.message) == ("ValueError", "boom")
    assert after == before


def test_timeout_kills_the_worker_and_a_fresh_one_takes_over(stack: LocalStack) -> None:
    before = pid_of(stack.invoke("WorkerFunction", {}))
    timed_out = stack.invoke("WorkerFunction", {"sleep": 5})
    after = pid_of(stack.invoke("WorkerFunction", {}))

    assert timed_out.error is not None
    assert timed_out.error.error_type == "Sandbox.Timedout"
    assert timed_out.error.message == "Task timed out after 1.00 seconds"
    assert not process_exists(before)
    assert after != before


def test_kill_in_flight_fails_the_invocation(stack: LocalStack) -> None:
    outcome: list[Invocation] = []
    caller = threading.Thread(
        target=lambda: outcome.append(stack.invoke("SleeperFunction", {"sleep": 20}))
    )
    caller.start()

    eventually(lambda: stack.kill_in_flight("SleeperFunction"), timeout=10)
    caller.join(TIMEOUT)

    (killed,) = outcome
    assert killed.error is not None
    assert killed.error.error_type == "Runtime.ExitError"
    assert killed.error.message == "Runtime exited with error: signal: 9"
    assert pid_of(stack.invoke("SleeperFunction", {}))


def test_function_logs_go_to_the_logs_dir(stack: LocalStack) -> None:
    stack.invoke("WorkerFunction", {})

    log = Path(stack.endpoints["logs_dir"]) / "WorkerFunction.log"
    assert "START RequestId:" in log.read_text()


# -- schedules ------------------------------------------------------------------------


def test_schedule_runs_at_start_up_and_on_demand(stack: LocalStack) -> None:
    at_start = eventually(lambda: deliveries(stack, "TICK"))

    (invocation,) = stack.run_schedule("TickFunction")
    ticks = deliveries(stack, "TICK")

    assert invocation.error is None
    assert len(ticks) == len(at_start) + 1
    event = ticks[-1] if ticks[-1] not in at_start else ticks[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "123456789012"
    assert event["region"] == "eu-west-1"
    assert event["detail"] == {}
    (rule_arn,) = event["resources"]
    assert rule_arn.startswith("arn:aws:events:eu-west-1:123456789012:rule/")


# -- endpoints and stop -------------------------------------------------------------


def test_endpoints_json_describes_the_running_stack(stack: LocalStack) -> None:
    written = json.loads(stack.endpoints_path.read_text())

    assert written == stack.endpoints
    assert written["api_url"].startswith("http://127.0.0.1:")
    assert written["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert written["region"] == "eu-west-1"
    assert written["send_queue_url"] == queue_url(stack, "WorkQueue")
    assert written["dlq_url"] == queue_url(stack, "DeadLetterQueue")
    assert written["table_name"] == f"{stack.options.stack_name}-Table"
    assert Path(written["logs_dir"]).is_dir()
    # Each function's resolved environment, as a deployed function's configuration shows it.
    echo = written["function_environments"]["EchoFunction"]
    assert echo["QUEUE_URL"] == written["send_queue_url"]
    assert set(written["function_environments"]) == {f.logical_id for f in stack.functions}


def test_unknown_resource_types_are_listed_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="infra.local.template.resources")
    start_stack(tmp_path).stop()

    (skipped,) = [r.getMessage() for r in caplog.records if "not emulated" in r.getMessage()]
    assert "Topic (AWS::SNS::Topic)" in skipped
    assert "LogGroup" not in skipped
    assert "Function" not in skipped


def test_stop_leaves_no_process_thread_port_or_endpoints_file(tmp_path: Path) -> None:
    threads_before = set(threading.enumerate())
    stack = start_stack(tmp_path)
    assert pid_of(stack.invoke("WorkerFunction", {}))
    pids = stack.worker_pids()
    # Per-request server threads come and go with the module's stack still running, so only
    # the long-lived ones (servers, pollers, schedules) are checked.
    threads = {
        thread
        for thread in set(threading.enumerate()) - threads_before
        if "process_request_thread" not in thread.name
    }
    api_url, endpoints_path = stack.endpoints["api_url"], stack.endpoints_path

    stack.stop()

    assert pids
    assert threads
    assert not [pid for pid in pids if process_exists(pid)]
    assert not [thread.name for thread in threads if thread.is_alive()]
    assert not endpoints_path.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{api_url}/echo/x", timeout=TIMEOUT)


def child_pids(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task").glob("*/children")
    return {int(child) for path in children for child in path.read_text().split()}


def test_command_line_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "infra.local", "--template", str(FIXTURE / "template.yaml")]
    command += ["--api-port", "0", "--aws-port", "0", "--state-dir", str(tmp_path)]
    process = subprocess.Popen(  # noqa: S603 - our interpreter and module, fixed arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        eventually((tmp_path / "endpoints.json").exists)
        workers = child_pids(process.pid)
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=WAIT)
    finally:
        process.kill()
    output = process.stdout.read() if process.stdout else ""

    assert exit_code == 0
    assert workers
    assert not [pid for pid in workers if process_exists(pid)]
    assert str(tmp_path / "endpoints.json") in output
    assert not (tmp_path / "endpoints.json").exists()
    assert "local stack stopped" in (tmp_path / "logs" / "stack.log").read_text()
