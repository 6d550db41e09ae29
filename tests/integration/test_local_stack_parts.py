"""The local stack's parts on their own: template reading, intrinsic functions, Globals,
function specs, and the shapes of API Gateway and SQS events (no servers, no processes)."""

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.local.template.functions import (
    ApiEvent,
    ApiSpec,
    FunctionSpec,
    ScheduleEvent,
    SqsEvent,
    code_resources,
    read_apis,
    read_functions,
)
from infra.local.template.intrinsics import (
    NO_VALUE,
    Physical,
    Resolver,
    TemplateError,
    referenced_names,
)
from infra.local.template.template import Template, merge_globals
from infra.local.triggers.apigateway import http_response, is_binary, proxy_event
from infra.local.triggers.scheduler import nominal_interval
from infra.local.triggers.sqs import failed_message_ids
from infra.local.triggers.streams import first_failed, lambda_record, matches

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "local_stack"


def resolver(
    parameters: dict[str, str | list[str]] | None = None,
    physical: dict[str, Physical] | None = None,
    conditions: dict[str, Any] | None = None,
) -> Resolver:
    return Resolver(
        parameters=parameters or {},
        pseudo_parameters={"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"},
        conditions=conditions or {},
        physical=physical or {},
    )


# -- intrinsics -----------------------------------------------------------------------

QUEUE = Physical(
    "https://queue-url", {"Arn": "arn:aws:sqs:eu-west-1:123456789012:q", "QueueName": "q"}
)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Ref": "Queue"}, "https://queue-url"),
        ({"Ref": "Size"}, "5"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:123456789012:q"),
        ({"Fn::GetAtt": "Queue.QueueName"}, "q"),
        (
            {"Fn::Sub": "${AWS::Region}:${Queue.QueueName}:${Size}:${!Kept}"},
            "eu-west-1:q:5:${Kept}",
        ),
        ({"Fn::Sub": ["${A}-${AWS::AccountId}", {"A": {"Ref": "Size"}}]}, "5-123456789012"),
        ({"Fn::Join": ["/", ["a", {"Ref": "Size"}, 7]]}, "a/5/7"),
        ({"Fn::Split": [",", "x,y"]}, ["x", "y"]),
        ({"Fn::Select": [1, {"Ref": "Names"}]}, "n2"),
        ({"Fn::If": ["Yes", "then", "else"]}, "then"),
        ({"Fn::If": ["No", "then", {"Ref": "AWS::NoValue"}]}, NO_VALUE),
        ({"keep": 1, "drop": {"Fn::If": ["No", 1, {"Ref": "AWS::NoValue"}]}}, {"keep": 1}),
        ([True, {"Ref": "AWS::NoValue"}], [True]),
    ],
)
def test_intrinsics_evaluate_as_cloudformation_does(node: object, expected: object) -> None:
    evaluated = resolver(
        parameters={"Size": "5", "Names": ["n1", "n2"]},
        physical={"Queue": QUEUE},
        conditions={"Yes": {"Fn::Equals": ["a", "a"]}, "No": {"Fn::Not": [{"Condition": "Yes"}]}},
    ).resolve(node, "Test")

    assert evaluated == expected


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"Fn::ImportValue": "x"}, "Where: Fn::ImportValue is not supported by the local stack"),
        ({"Fn::FindInMap": ["M", "a", "b"]}, "Where: Fn::FindInMap is not supported"),
        ({"Ref": "Missing"}, "Where: Ref Missing: no such parameter"),
        (
            {"Fn::GetAtt": ["Queue", "Nope"]},
            "Where: Fn::GetAtt Queue.Nope: attribute not available",
        ),
        ({"Fn::If": ["Unknown", 1, 2]}, "Where: unknown condition 'Unknown'"),
    ],
)
def test_unsupported_constructs_fail_naming_them(node: object, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(")):
        resolver(physical={"Queue": QUEUE}).resolve(node, "Where")


def test_conditions_combine() -> None:
    conditions = {
        "IsA": {"Fn::Equals": [{"Ref": "P"}, "a"]},
        "NotA": {"Fn::Not": [{"Condition": "IsA"}]},
        "Both": {"Fn::And": [{"Condition": "IsA"}, {"Fn::Equals": [True, "true"]}]},
        "Either": {"Fn::Or": [{"Condition": "NotA"}, {"Condition": "Both"}]},
    }
    evaluate = resolver(parameters={"P": "a"}, conditions=conditions).condition

    assert [evaluate(name) for name in conditions] == [True, False, True, True]


def test_referenced_names_cover_ref_getatt_and_sub() -> None:
    node = {
        "a": {"Ref": "One"},
        "b": [{"Fn::GetAtt": ["Two", "Arn"]}],
        "c": {"Fn::Sub": ["${Three.Arn}/${Local}/${!Not}", {"Local": {"Ref": "Four"}}]},
    }

    assert referenced_names(node) == {"One", "Two", "Three", "Four"}


def test_globals_merge_maps_add_lists_and_replace_scalars() -> None:
    defaults = {
        "Timeout": 30,
        "Layers": ["L1"],
        "Environment": {"Variables": {"A": "1", "B": {"Ref": "X"}}},
    }
    own = {"Timeout": 3, "Layers": ["L2"], "Environment": {"Variables": {"B": "own", "C": "3"}}}

    assert merge_globals(defaults, own) == {
        "Timeout": 3,
        "Layers": ["L1", "L2"],
        "Environment": {"Variables": {"A": "1", "B": "own", "C": "3"}},
    }


# -- template -------------------------------------------------------------------------


def fixture_resolver(template: Template, overrides: dict[str, str]) -> Resolver:
    return template.resolver(overrides=overrides, region="eu-west-1", stack_name="fx", physical={})


def test_resource_conditions_follow_parameter_overrides() -> None:
    template = Template.load(FIXTURE / "template.yaml")

    local = {r.logical_id for r in template.resources(fixture_resolver(template, {}))}
    prod = {r.logical_id for r in template.resources(fixture_resolver(template, {"Stage": "prod"}))}

    assert "ProdOnlyQueue" not in local
    assert "ProdOnlyQueue" in prod


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"Nope": "1"}, "undeclared parameters: \\['Nope'\\]"), ({"Stage": "qa"}, "not one of")],
)
def test_bad_parameter_overrides_are_refused(overrides: dict[str, str], message: str) -> None:
    template = Template.load(FIXTURE / "template.yaml")

    with pytest.raises(TemplateError, match=message):
        fixture_resolver(template, overrides)


def read_fixture_functions() -> dict[str, FunctionSpec]:
    """The fixture's functions, with stand-ins for the data resources moto would create."""
    template = Template.load(FIXTURE / "template.yaml")
    physical: dict[str, Physical] = {}
    resolve = template.resolver(
        overrides={}, region="eu-west-1", stack_name="fx", physical=physical
    )
    resources = template.resources(resolve)
    physical.update(code_resources(resources, resolve, "eu-west-1", "fx"))
    for resource in resources:
        if resource.logical_id not in physical:
            arn = f"arn:aws:test:eu-west-1:123456789012:{resource.logical_id}"
            attributes = {"Arn": arn, "QueueName": resource.logical_id}
            physical[resource.logical_id] = Physical(f"ref-{resource.logical_id}", attributes)
    apis = read_apis(resources, resolve, template.globals_section("Api"))
    functions = read_functions(resources, resolve, physical, apis, template.base_dir)
    return {function.logical_id: function for function in functions}


def test_function_specs_apply_globals_and_read_events() -> None:
    functions = read_fixture_functions()
    echo, batch, tick = (
        functions["EchoFunction"],
        functions["BatchFunction"],
        functions["TickFunction"],
    )
    first = echo.events[0]

    assert echo.code_dir == FIXTURE / "functions"
    assert echo.layer_dirs == (FIXTURE / "layer",)
    assert (echo.timeout, echo.memory_size) == (5, 192)
    assert functions["WorkerFunction"].timeout == 1
    assert echo.environment["TABLE_NAME"] == "ref-Table"
    assert echo.name == "fx-EchoFunction"
    assert echo.arn == "arn:aws:lambda:eu-west-1:123456789012:function:fx-EchoFunction"
    assert isinstance(first, ApiEvent)
    assert (first.name, first.path, first.method, first.authorizer) == (
        "Echo",
        "/echo/{id}",
        "GET",
        None,
    )
    assert first.api.stage_name == "test"
    assert first.api.binary_media_types == ("image/*", "application/octet-stream")
    assert [e.authorizer for e in echo.events if isinstance(e, ApiEvent)][-1] == "AWS_IAM"
    assert batch.events == (
        SqsEvent(
            name="Work",
            queue_logical_id="WorkQueue",
            queue_arn="arn:aws:test:eu-west-1:123456789012:WorkQueue",
            batch_size=10,
            batching_window_seconds=1.0,
            report_batch_item_failures=True,
            maximum_concurrency=2,
        ),
    )
    assert tick.events == (ScheduleEvent("Hourly", "rate(1 hour)", None),)
    assert (batch.concurrency, echo.concurrency, tick.concurrency) == (2, 4, 4)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("cron(0 * * * ? *)", 300),
    ],
)
def test_schedule_intervals(expression: str, seconds: float) -> None:
    assert nominal_interval(expression) == seconds


def test_unknown_schedule_expressions_are_refused() -> None:
    with pytest.raises(TemplateError, match="unsupported schedule expression"):
        nominal_interval("every 5 minutes")


# -- API Gateway shapes -----------------------------------------------------------------

API = ApiSpec("Api", "abc123", "v1", ("image/*", "multipart/related"))
ROUTE = ApiEvent("Upload", API, "/upload/{name}", "POST", None)


def upload_event(content_type: str, body: bytes) -> dict[str, Any]:
    environ = EnvironBuilder(
        path="/upload/x", method="POST", data=body, content_type=content_type
    ).get_environ()
    request = Request(environ)
    return proxy_event(
        request,
        headers=list(request.headers.items()),
        body=body,
        route=ROUTE,
        path_parameters={"name": "x"},
        request_id="req-1",
        received_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_binary_bodies_are_base64_encoded() -> None:
    payload = b"\x89PNG\xff\xfe\x00"

    event = upload_event("multipart/related; boundary=x", payload)

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload
    assert event["requestContext"]["path"] == "/v1/upload/x"
    assert event["requestContext"]["requestTime"] == "02/Jan/2025:03:04:05 +0000"
    assert event["requestContext"]["requestTimeEpoch"] == 1735787045000


def test_text_bodies_are_decoded_as_utf8() -> None:
    event = upload_event("application/json", '{"a": "é"}'.encode())

    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"a": "é"}'


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [("image/png", True), ("IMAGE/JPEG; q=1", True), ("text/plain", False), (None, False)],
)
def test_binary_media_type_matching(content_type: str | None, binary: bool) -> None:
    assert is_binary(content_type, API.binary_media_types) is binary


def test_proxy_responses_become_http_responses() -> None:
    response = http_response(
        {
            "statusCode": 200,
            "headers": {"X-One": "1", "X-Both": "single"},
            "multiValueHeaders": {"X-Both": ["m1", "m2"]},
            "body": base64.b64encode(b"\xff").decode(),
            "isBase64Encoded": True,
        },
        "req-1",
    )

    assert response.status == 200
    assert response.body == b"\xff"
    assert ("X-Both", "m1") in response.headers
    assert ("X-Both", "m2") in response.headers
    assert ("X-Both", "single") not in response.headers
    assert ("Content-Type", "application/json") in response.headers


@pytest.mark.parametrize(
    "result", [None, "text", {"body": "no status"}, {"statusCode": 200, "body": 5}]
)
def test_malformed_proxy_responses_are_502(result: object) -> None:
    assert http_response(result, "req-1").status == 502


# -- SQS batch responses ----------------------------------------------------------------

IDS = {"m1", "m2", "m3"}


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "other"}]}, IDS),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, IDS),
        ({"batchItemFailures": [{"id": "m1"}]}, IDS),
        ("not an object", IDS),
    ],
)
def test_batch_item_failures_are_read_as_lambda_reads_them(
    result: object, failed: set[str]
) -> None:
    assert failed_message_ids(result, IDS) == failed


# -- DynamoDB stream sources -----------------------------------------------------------

MESSAGES_ONLY = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}, "sk": {"S": ["MSG"]}}},
}


def stream_record(event_name: str, pk: str, sk: str = "MSG") -> dict[str, Any]:
    return {"eventName": event_name, "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}}}


@pytest.mark.parametrize(
    ("record", "passes"),
    [
        (stream_record("INSERT", "MSG#a"), True),
        (stream_record("MODIFY", "MSG#a"), True),
        (stream_record("REMOVE", "MSG#a"), False),
        (stream_record("INSERT", "REF#orange#1"), False),
        (stream_record("INSERT", "MSG#a", sk="EARLY#1"), False),
    ],
)
def test_stream_filter_patterns_match_as_lambda_filters(
    record: dict[str, Any], passes: bool
) -> None:
    assert matches(MESSAGES_ONLY, record) is passes


def test_stream_filter_patterns_lambda_has_but_the_stack_lacks_are_refused() -> None:
    with pytest.raises(TemplateError, match="not emulated"):
        matches({"eventName": [{"anything-but": ["REMOVE"]}]}, stream_record("INSERT", "MSG#a"))


@pytest.mark.parametrize(
    ("result", "restart"),
    [
        (None, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, 1),
        ({"batchItemFailures": [{"itemIdentifier": "9"}]}, 0),  # not in the batch
        ("oops", 0),
    ],
)
def test_a_stream_batch_restarts_at_its_first_failed_record(
    result: object, restart: int | None
) -> None:
    assert first_failed(result, ["1", "2", "3"]) == restart


def test_stream_records_become_lambda_json() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    image = {"b": {"B": b"\x00"}}
    record = {"dynamodb": {"ApproximateCreationDateTime": moment, "NewImage": image}}
    converted = lambda_record(record, "arn:stream", "eu-west-1")
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == moment.timestamp()
    assert converted["dynamodb"]["NewImage"]["b"]["B"] == "AA=="
    assert (converted["eventSourceARN"], converted["awsRegion"]) == ("arn:stream", "eu-west-1")
