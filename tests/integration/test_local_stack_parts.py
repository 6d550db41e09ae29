"""The local stack's parts on their own: template reading, intrinsic functions, Globals,
function specs, API Gateway's HTTP API shapes (payload format 2.0 events and responses,
parameter mapping, the SQS-SendMessage integration, route throttles) and SQS events (no
servers, no processes)."""

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.local.runtime.runtime import Invocation
from infra.local.template.functions import (
    FunctionSpec,
    HttpApiEvent,
    HttpApiSpec,
    ScheduleEvent,
    SqsEvent,
    SqsSendMessage,
    Throttle,
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
from infra.local.template.template import Resource, Template, merge_globals
from infra.local.triggers.api import LambdaProxy, Route, TokenBucket
from infra.local.triggers.apigateway import (
    ApiRequest,
    is_text,
    lambda_event,
    lambda_response,
    with_forwarding,
)
from infra.local.triggers.apigateway_sqs import SqsSendMessageIntegration, compile_mapping
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


def read_fixture(stage: str = "local") -> tuple[dict[str, FunctionSpec], Resolver]:
    """The fixture's functions, with stand-ins for the data resources moto would create."""
    template = Template.load(FIXTURE / "template.yaml")
    physical: dict[str, Physical] = {}
    resolve = template.resolver(
        overrides={"Stage": stage}, region="eu-west-1", stack_name="fx", physical=physical
    )
    resources = template.resources(resolve)
    physical.update(code_resources(resources, resolve, "eu-west-1", "fx"))
    for resource in resources:
        if resource.logical_id not in physical:
            arn = f"arn:aws:test:eu-west-1:123456789012:{resource.logical_id}"
            attributes = {"Arn": arn, "QueueName": resource.logical_id}
            physical[resource.logical_id] = Physical(f"ref-{resource.logical_id}", attributes)
    apis = read_apis(resources, resolve, template.globals_section("HttpApi"))
    functions = read_functions(resources, resolve, physical, apis, template.base_dir)
    return {function.logical_id: function for function in functions}, resolve


def read_fixture_functions() -> dict[str, FunctionSpec]:
    return read_fixture()[0]


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
    assert isinstance(first, HttpApiEvent)
    assert (first.name, first.route_key, first.authorizer) == ("Echo", "GET /echo/{id}", None)
    assert first.api.stage_name == "test"
    assert [e.authorizer for e in echo.events if isinstance(e, HttpApiEvent)][-1] == "AWS_IAM"
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


def test_http_api_settings_and_sqs_routes_are_read_from_the_template() -> None:
    functions, resolve = read_fixture()
    event = functions["EchoFunction"].events[0]
    assert isinstance(event, HttpApiEvent)
    api = event.api
    template = Template.load(FIXTURE / "template.yaml")

    assert api.default_throttle == Throttle(rate_limit=1000.0, burst_limit=1000)
    # Route settings over defaults; the burst comes through a parameter's Ref.
    assert api.throttle("POST /limited") == Throttle(rate_limit=0.2, burst_limit=2)
    assert api.throttle("GET /echo/{id}") == api.default_throttle
    (inbox,) = api.sqs_routes
    assert inbox.route_key == "POST /inbox/{token}"
    assert inbox.parameters["QueueUrl"] == "ref-InboxQueue"
    assert inbox.parameters["MessageBody"] == "$request.body"
    assert "${request.path.token}" in inbox.parameters["MessageAttributes"]
    # ${Api.Stage} and ${Api} resolve as SAM has them: the stage's name, the API's id.
    api_url = resolve.resolve(template.outputs["ApiUrl"]["Value"], "Outputs.ApiUrl")
    assert api_url == f"https://{api.api_id}.execute-api.eu-west-1.amazonaws.com/test"
    assert api.url("eu-west-1") == api_url


def read_event(properties: dict[str, Any]) -> HttpApiEvent:
    function = Resource(
        "Fn",
        "AWS::Serverless::Function",
        {
            "Runtime": "python3.12",
            "CodeUri": "functions",
            "Handler": "handlers.echo",
            "Events": {"Call": {"Type": "HttpApi", "Properties": properties}},
        },
        (),
    )
    physical = {"Fn": Physical("fx-Fn", {"Arn": "arn:fn"})}
    apis = read_apis([function], resolver(), {})
    (spec,) = read_functions([function], resolver(), physical, apis, FIXTURE)
    (event,) = spec.events
    assert isinstance(event, HttpApiEvent)
    return event


def test_an_http_api_event_without_path_and_method_is_the_implicit_apis_default_route() -> None:
    event = read_event({})

    assert (event.route_key, event.api.logical_id) == ("$default", "ServerlessHttpApi")
    assert (
        event.api.url("eu-west-1")
        == f"https://{event.api.api_id}.execute-api.eu-west-1.amazonaws.com"
    )
    assert event.api.throttle("GET /x") is None


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"Path": "/x", "Method": "GET", "PayloadFormatVersion": "1.0"}, "only 2.0"),
        ({"Path": "/x"}, "Path and Method go together"),
        ({"ApiId": "not-a-ref", "Path": "/x", "Method": "GET"}, "expected a Ref"),
    ],
)
def test_http_api_events_the_stack_cannot_serve_stop_it(
    properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        read_event(properties)


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


# -- API Gateway HTTP API shapes -------------------------------------------------------

API = HttpApiSpec("Api", "abc123", "v1", None, {}, ())
DEFAULT_STAGE_API = HttpApiSpec("Api", "abc123", "$default", None, {}, ())


def api_request(**changes: Any) -> ApiRequest:
    headers = [
        ("Content-Type", "application/json"),
        ("X-Repeat", "first"),
        ("x-repeat", "second"),
        ("Cookie", "a=1; b=2"),
        ("Cookie", "c=3"),
        ("User-Agent", "fixture-agent/1.0"),
    ]
    request: dict[str, Any] = {
        "api": API,
        "route_key": "POST /upload/{name}",
        "method": "POST",
        "path": "/upload/x",
        "raw_query": "k=1&k=2&q=%C3%A9",
        "query": {"k": ["1", "2"], "q": ["é"]},
        "headers": with_forwarding(headers, "10.0.0.9", "http", "3000"),
        "body": b'{"a": "\xc3\xa9"}',
        "path_parameters": {"name": "x"},
        "source_ip": "10.0.0.9",
        "host": "127.0.0.1:3000",
        "protocol": "HTTP/1.1",
        "request_id": "req-1",
        "received_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    return ApiRequest(**(request | changes))


def test_payload_format_2_events_have_api_gateways_fields() -> None:
    event = lambda_event(api_request())

    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /upload/{name}"
    assert event["rawPath"] == "/v1/upload/x"  # the stage's name in front, as on AWS
    assert event["rawQueryString"] == "k=1&k=2&q=%C3%A9"
    assert event["queryStringParameters"] == {"k": "1,2", "q": "é"}
    assert event["pathParameters"] == {"name": "x"}
    assert event["headers"]["x-repeat"] == "first,second"
    assert event["headers"]["x-forwarded-for"] == "10.0.0.9"
    assert event["headers"]["x-forwarded-port"] == "3000"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["body"] == '{"a": "é"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"] == {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "127.0.0.1:3000",
        "domainPrefix": "127",
        "http": {
            "method": "POST",
            "path": "/v1/upload/x",
            "protocol": "HTTP/1.1",
            "sourceIp": "10.0.0.9",
            "userAgent": "fixture-agent/1.0",
        },
        "requestId": "req-1",
        "routeKey": "POST /upload/{name}",
        "stage": "v1",
        "time": "02/Jan/2025:03:04:05 +0000",
        "timeEpoch": 1735787045000,
    }


def test_what_a_request_lacks_is_left_out_of_its_event() -> None:
    event = lambda_event(
        api_request(
            api=DEFAULT_STAGE_API, raw_query="", query={}, headers=[], body=b"", path_parameters={}
        )
    )

    assert event["rawPath"] == "/upload/x"  # a $default stage is served at the root
    assert event["requestContext"]["stage"] == "$default"
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False
    for absent in ("body", "cookies", "queryStringParameters", "pathParameters"):
        assert absent not in event


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain; charset=utf-8", True),
        ("TEXT/XML", True),
        ("application/json", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/x-www-form-urlencoded", False),
        ("application/problem+json", False),
        ("application/soap+xml", False),
        ("multipart/related; boundary=x", False),
        ("application/octet-stream", False),
        ("image/png", False),
        (None, False),
    ],
)
def test_bodies_are_text_only_for_textual_content_types(
    content_type: str | None, text: bool
) -> None:
    payload = b"\x89PNG\xff\xfe\x00"
    headers = [] if content_type is None else [("Content-Type", content_type)]

    event = lambda_event(api_request(headers=headers, body=payload))

    assert is_text(content_type) is text
    assert event["isBase64Encoded"] is not text
    if not text:
        assert base64.b64decode(event["body"]) == payload


def test_function_responses_become_http_responses() -> None:
    response = lambda_response(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "X-Both": "m1,m2"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": base64.b64encode(b"\xff").decode(),
            "isBase64Encoded": True,
        },
        "req-1",
    )

    assert response.status == 201
    assert response.body == b"\xff"
    assert ("X-Both", "m1,m2") in response.headers
    assert [v for n, v in response.headers if n == "Set-Cookie"] == ["a=1; Path=/", "b=2"]
    assert ("Content-Type", "application/json") in response.headers
    assert ("apigw-requestid", "req-1") in response.headers


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"pid": 7}, b'{"pid": 7}'),
        ({"body": "no status"}, b'{"body": "no status"}'),
        ("Hello from Lambda!", b"Hello from Lambda!"),
        ([1, 2], b"[1, 2]"),
    ],
)
def test_results_without_status_code_are_a_200_of_json(result: object, body: bytes) -> None:
    response = lambda_response(result, "req-1")

    assert (response.status, response.body) == (200, body)
    assert ("Content-Type", "application/json") in response.headers


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "body": 5},
        {"statusCode": "abc"},
        {"statusCode": 42},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_malformed_responses_are_500s(result: object) -> None:
    response = lambda_response(result, "req-1")

    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}


# -- routes and throttles ---------------------------------------------------------------


def never_invoked(function_id: str, event: Any) -> Invocation:
    raise AssertionError("routes are only matched here")


def route(key: str) -> Route:
    return Route(API, key, LambdaProxy("Fn", never_invoked), None)


@pytest.mark.parametrize(
    ("key", "method", "path", "parameters"),
    [
        ("GET /messages/{id}", "GET", "/messages/m-1", {"id": "m-1"}),
        ("GET /messages/{id}", "DELETE", "/messages/m-1", None),
        ("ANY /files/{proxy+}", "PUT", "/files/a/b", {"proxy": "a/b"}),
        ("ANY /files/{proxy+}", "PUT", "/files", None),
        ("POST /callbacks/mm7", "POST", "/callbacks/mm7/more", None),
        ("$default", "PATCH", "/anything/at/all", {}),
    ],
)
def test_routes_match_as_http_apis_match_them(
    key: str, method: str, path: str, parameters: dict[str, str] | None
) -> None:
    segments = [segment for segment in path.split("/") if segment]

    assert route(key).match(method, segments) == parameters


def test_literal_routes_come_before_parameters_greedy_ones_and_default() -> None:
    keys = ["$default", "ANY /files/{proxy+}", "GET /files/{name}", "ANY /files/index"]
    keys.append("GET /files/index")

    ordered = sorted((route(key) for key in keys), key=Route.specificity)

    assert [r.key for r in ordered] == [
        "GET /files/index",
        "ANY /files/index",
        "GET /files/{name}",
        "ANY /files/{proxy+}",
        "$default",
    ]


def test_a_token_bucket_lets_a_burst_through_then_refills_at_its_rate() -> None:
    spent = TokenBucket(Throttle(rate_limit=0.0, burst_limit=2))
    refilled = TokenBucket(Throttle(rate_limit=20.0, burst_limit=1))

    assert [spent.take() for _ in range(3)] == [True, True, False]
    assert [refilled.take(), refilled.take()] == [True, False]
    time.sleep(0.1)
    assert refilled.take()


# -- the SQS-SendMessage integration ------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("$request.body", '{"a": "é"}'),
        ("$request.header.user-agent", "fixture-agent/1.0"),
        ("$request.header.X-REPEAT", "first,second"),
        ("$request.querystring.k", "1,2"),
        ("$request.path", "/upload/x"),
        ("$context.requestId", "req-1"),
        ("static", "static"),
        ("${request.path.name}@${context.identity.sourceIp} ${context.stage}", "x@10.0.0.9 v1"),
        ("[${request.header.absent}]", "[]"),
        ("$request.header.absent", None),
    ],
)
def test_parameter_mappings_read_the_request(expression: str, value: str | None) -> None:
    assert compile_mapping(expression, "Where")(api_request()) == value


@pytest.mark.parametrize(
    "expression", ["$request.body.name", "${context.nope}", "$stageVariables.x"]
)
def test_mappings_the_stack_cannot_evaluate_stop_it(expression: str) -> None:
    with pytest.raises(TemplateError, match="Where: parameter mapping"):
        compile_mapping(expression, "Where")


class FakeSqs:
    """send_message as moto answers it, or raising `error`."""

    def __init__(self, error: ClientError | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self._error = error

    def send_message(self, **request: Any) -> dict[str, Any]:
        if self._error is not None:
            raise self._error
        self.sent.append(request)
        return {
            "MD5OfMessageBody": "md5",
            "MessageId": "m-1",
            "ResponseMetadata": {"RequestId": "sqs-1", "HTTPStatusCode": 200},
        }


INBOX = SqsSendMessage(
    "POST /upload/{name}",
    {
        "QueueUrl": "http://queue",
        "MessageBody": "$request.body",
        "MessageAttributes": (
            '{"name": {"DataType": "String", "StringValue": "${request.path.name}"}}'
        ),
    },
)


def integration(sqs: FakeSqs, route: SqsSendMessage = INBOX) -> SqsSendMessageIntegration:
    return SqsSendMessageIntegration(route, sqs, "Api")  # type: ignore[arg-type]


def test_a_sqs_route_sends_the_mapped_message_and_answers_with_sqs_answer() -> None:
    sqs = FakeSqs()

    response = integration(sqs).answer(api_request())

    assert sqs.sent == [
        {
            "QueueUrl": "http://queue",
            "MessageBody": '{"a": "é"}',
            "MessageAttributes": {"name": {"DataType": "String", "StringValue": "x"}},
        }
    ]
    assert response.status == 200
    assert json.loads(response.body) == {
        "SendMessageResponse": {
            "ResponseMetadata": {"RequestId": "sqs-1"},
            "SendMessageResult": {
                "MD5OfMessageAttributes": None,
                "MD5OfMessageBody": "md5",
                "MD5OfMessageSystemAttributes": None,
                "MessageId": "m-1",
                "SequenceNumber": None,
            },
        }
    }


def sqs_error(status: int, code: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "no"}}
    response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, "SendMessage")


@pytest.mark.parametrize(
    ("sqs", "body", "status", "code"),
    [
        (FakeSqs(), b"", 400, "MissingParameter"),  # moto takes it, SQS does not
        (FakeSqs(sqs_error(400, "InvalidParameterValue")), b"x", 400, "InvalidParameterValue"),
        (FakeSqs(sqs_error(503, "ServiceUnavailable")), b"x", 500, "ServiceUnavailable"),
    ],
)
def test_sqs_refusals_are_api_gateways_errors(
    sqs: FakeSqs, body: bytes, status: int, code: str
) -> None:
    response = integration(sqs).answer(api_request(body=body))

    assert response.status == status
    assert json.loads(response.body)["Error"]["Code"] == code
    assert sqs.sent == []


def test_send_message_parameters_the_stack_cannot_map_stop_it() -> None:
    route = SqsSendMessage("POST /x", {"QueueUrl": "u", "MessageSystemAttributes": "{}"})

    with pytest.raises(
        TemplateError, match=r"\['MessageSystemAttributes'\], missing \['MessageBody'\]"
    ):
        integration(FakeSqs(), route)


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
