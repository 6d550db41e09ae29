"""`cgw --stack NAME`: a deployed stack's outputs (CloudFormation in moto) read as the same
endpoints the local stack's endpoints.json gives, and the template declaring what is read."""

import json

import boto3
import pytest

from cgw import cli
from cgw.endpoints import STACK_OUTPUTS, EndpointsNotFound, from_stack
from tests.unit.test_observability import template

pytestmark = pytest.mark.usefixtures("aws")

API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/gw-SendQueue"


def deploy(name: str, outputs: dict[str, str]) -> None:
    body = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(body))


def test_a_deployed_stack_s_outputs_are_its_endpoints() -> None:
    deploy(
        "gw",
        {
            "ApiUrl": API_URL,
            "SendQueueUrl": QUEUE_URL,
            "SendDeadLetterQueueUrl": f"{QUEUE_URL}-dlq",
            "TableName": "gw-MessagesTable",
            "BucketName": "gw-attachments",
            "EventBusName": "gw-events",
            "Mm7CallbackUrl": f"{API_URL}/callbacks/mm7",
            "OrangeReceiptSubscriptions": "orange-receipts:default:2250000:sub-1",
            "DashboardUrl": "https://console.aws.amazon.com/cloudwatch/home#dashboards:name=gw",
        },
    )

    endpoints = from_stack("gw", "eu-west-1")

    assert (endpoints.api_url, endpoints.send_queue_url) == (API_URL, QUEUE_URL)
    assert (endpoints.region, endpoints.stack_name, endpoints.local) == ("eu-west-1", "gw", False)
    assert endpoints.table_name == "gw-MessagesTable"
    assert endpoints.receipt_subscriptions == "orange-receipts:default:2250000:sub-1"
    extra = endpoints.extra or {}
    # The local stack's names for the same things; other outputs under their own.
    assert extra["dlq_url"] == f"{QUEUE_URL}-dlq"
    assert (extra["bucket"], extra["event_bus"]) == ("gw-attachments", "gw-events")
    assert extra["mm7_url"] == f"{API_URL}/callbacks/mm7"
    assert extra["DashboardUrl"].endswith("name=gw")


def test_every_output_cgw_reads_is_one_the_template_declares() -> None:
    assert set(STACK_OUTPUTS) <= set(template()["Outputs"])


def test_a_stack_that_does_not_exist_is_said_so(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(EndpointsNotFound, match="stack 'nowhere'"):
        from_stack("nowhere", "eu-west-1")

    assert cli.main(["--stack", "nowhere", "--region", "eu-west-1", "status", "order-42"]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_a_stack_without_its_outputs_yet_says_which_and_its_state() -> None:
    deploy("half", {"ApiUrl": API_URL})
    with pytest.raises(
        EndpointsNotFound, match=r"\(CREATE_COMPLETE\) lacks outputs \['SendQueueUrl'\]"
    ):
        from_stack("half", "eu-west-1")


def test_no_region_anywhere_is_said_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(EndpointsNotFound, match="region"):
        from_stack("gw")
