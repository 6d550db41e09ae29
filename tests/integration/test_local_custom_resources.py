"""The local stack's custom resources: CloudFormation's requests to the ServiceToken function,
answered over HTTP at a loopback ResponseURL (the functions here are fakes that answer as the
gateway's runner does)."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.runtime.runtime import Invocation, InvokeError
from infra.local.template.functions import FunctionSpec, HttpApiSpec
from infra.local.template.intrinsics import Resolver, TemplateError
from infra.local.template.template import Resource
from infra.local.triggers.custom_resources import (
    CustomResource,
    CustomResourceFailed,
    CustomResources,
    api_urls,
    read_custom_resources,
)

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:gw-Subscriber"
FUNCTION = FunctionSpec(
    logical_id="Subscriber",
    name="gw-Subscriber",
    arn=ARN,
    code_dir=Path("."),
    handler="app.handler",
    timeout=30,
    memory_size=128,
    environment={},
    layer_dirs=(),
    events=(),
)
RESOURCE = CustomResource(
    "Subscription", "Custom::Thing", "Subscriber", {"ServiceToken": ARN, "Url": "http://x"}
)

type Reply = Callable[[dict[str, Any]], Invocation]


class FakeFunction:
    """Answers each request with `replies` in turn, recording the events."""

    def __init__(self, *replies: Reply) -> None:
        self.events: list[dict[str, Any]] = []
        self._replies = list(replies)

    def __call__(self, function_id: str, request: dict[str, Any]) -> Invocation:
        assert function_id == "Subscriber"
        self.events.append(request)
        return self._replies.pop(0)(request)


def answering(status: str, content_type: str = "") -> Reply:
    def reply(request: dict[str, Any]) -> Invocation:
        body = {
            "Status": status,
            "Reason": "refused by the carrier" if status == "FAILED" else "",
            "PhysicalResourceId": "phys-1",
            "StackId": request["StackId"],
            "RequestId": request["RequestId"],
            "LogicalResourceId": request["LogicalResourceId"],
            "Data": {"Ids": "a,b"},
        }
        headers = {"Content-Type": content_type}
        requests.put(request["ResponseURL"], data=json.dumps(body), headers=headers, timeout=5)
        return Invocation("r", result={"status": status})

    return reply


def crashing(request: dict[str, Any]) -> Invocation:
    return Invocation("r", error=InvokeError("Sandbox.Timedout", "Task timed out"))


@pytest.fixture
def stack() -> Iterator[Callable[..., CustomResources]]:
    made: list[CustomResources] = []

    def make(function: FakeFunction) -> CustomResources:
        resources = CustomResources([RESOURCE], function, region="eu-west-1", stack_name="gw")
        made.append(resources)
        return resources

    yield make
    for resources in made:
        resources.stop()


def test_create_then_delete_as_cloudformation_sends_them(
    stack: Callable[..., CustomResources],
) -> None:
    function = FakeFunction(answering("SUCCESS"), answering("SUCCESS"))
    resources = stack(function)

    physical = resources.create_all("127.0.0.1")
    resources.delete_all()

    assert physical["Subscription"].ref == "phys-1"
    assert physical["Subscription"].attributes == {"Ids": "a,b"}
    create, delete = function.events
    assert create["RequestType"] == "Create"
    assert create["ResourceProperties"] == RESOURCE.properties
    assert create["ServiceToken"] == ARN
    assert create["StackId"] == "arn:aws:cloudformation:eu-west-1:123456789012:stack/gw/local"
    assert "PhysicalResourceId" not in create
    assert (delete["RequestType"], delete["PhysicalResourceId"]) == ("Delete", "phys-1")
    assert create["ResponseURL"] != delete["ResponseURL"]


def test_a_failed_create_stops_the_stack(stack: Callable[..., CustomResources]) -> None:
    resources = stack(FakeFunction(answering("FAILED")))

    with pytest.raises(CustomResourceFailed, match="create failed: refused by the carrier"):
        resources.create_all("127.0.0.1")


def test_an_answer_with_a_content_type_is_refused_as_s3_would(
    stack: Callable[..., CustomResources],
) -> None:
    json_answer = answering("SUCCESS", content_type="application/json")
    resources = stack(FakeFunction(json_answer))

    with pytest.raises(CustomResourceFailed, match="no answer at the ResponseURL"):
        resources.create_all("127.0.0.1")


def test_failed_invocations_are_retried_as_lambda_retries_async_ones(
    stack: Callable[..., CustomResources],
) -> None:
    function = FakeFunction(crashing, crashing, answering("SUCCESS"))

    assert stack(function).create_all("127.0.0.1")["Subscription"].ref == "phys-1"
    assert len(function.events) == 3
    assert len({event["RequestId"] for event in function.events}) == 1


def test_three_failed_invocations_fail_the_stack(stack: Callable[..., CustomResources]) -> None:
    resources = stack(FakeFunction(crashing, crashing, crashing))

    with pytest.raises(CustomResourceFailed, match=r"Sandbox.Timedout: Task timed out"):
        resources.create_all("127.0.0.1")


def resolver() -> Resolver:
    return Resolver(parameters={}, pseudo_parameters={}, conditions={}, physical={})


def test_api_urls_in_properties_point_at_the_local_front() -> None:
    template_resource = Resource(
        "Subscription",
        "Custom::Thing",
        {"ServiceToken": ARN, "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"},
        (),
    )
    local = {"https://abc123.execute-api.eu-west-1.amazonaws.com/v1": "http://127.0.0.1:3000"}

    [resource] = read_custom_resources([template_resource], resolver(), [FUNCTION], local)

    assert resource.function_id == "Subscriber"
    assert resource.properties["ApiUrl"] == "http://127.0.0.1:3000"


def test_each_apis_stage_url_is_the_local_front() -> None:
    staged = HttpApiSpec("Api", "abc123", "v1", None, {}, ())
    default = HttpApiSpec("Other", "def456", "$default", None, {}, ())

    assert api_urls([staged, default], "eu-west-1", "http://127.0.0.1:3000") == {
        "https://abc123.execute-api.eu-west-1.amazonaws.com/v1": "http://127.0.0.1:3000",
        "https://def456.execute-api.eu-west-1.amazonaws.com": "http://127.0.0.1:3000",
    }


def test_a_service_token_that_is_no_function_of_the_template_is_refused() -> None:
    topic = Resource(
        "Thing", "Custom::Thing", {"ServiceToken": "arn:aws:sns:eu-west-1:1:topic"}, ()
    )
    with pytest.raises(TemplateError, match="no function of this template"):
        read_custom_resources([topic], resolver(), [FUNCTION], {})
