"""`cgw orange-subscription` against a deployed stack: its outputs and the subscription
function's environment from CloudFormation and Lambda (moto), Orange behind a fake transport."""

import json

import boto3
import pytest

from cgw import cli
from cgw.endpoints import Endpoints, EndpointsNotFound
from cgw.orange_subscription import mask_url, same_url
from tests.fakes import FakeOrangeHttp

API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
TOKEN = "receipt-" + "z" * 32
RECEIPT_URL = f"{API_URL}/callbacks/orange/dr/{TOKEN}"
STACK = ["--stack", "gw", "--json", "orange-subscription"]


def deploy(environment: dict[str, str], subscriptions: str) -> None:
    """A stack with what `cgw` reads: its outputs, the subscription function's environment."""
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    template = {
        "Resources": {
            "OrangeSubscriptionFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "app.handler",
                    "Role": role["Role"]["Arn"],
                    "Code": {"ZipFile": "def handler(event, context): pass"},
                    "Environment": {"Variables": environment},
                },
            }
        },
        "Outputs": {
            "ApiUrl": {"Value": API_URL},
            "SendQueueUrl": {"Value": "https://sqs.eu-west-1.amazonaws.com/1/q"},
            "OrangeReceiptSubscriptions": {"Value": subscriptions},
        },
    }
    boto3.client("cloudformation").create_stack(StackName="gw", TemplateBody=json.dumps(template))


@pytest.fixture
def stack(aws: None, http: FakeOrangeHttp) -> FakeOrangeHttp:
    """A deployed gateway whose custom resource registered `sub-stack`; Orange holds it."""
    secrets = boto3.client("secretsmanager")

    def secret(name: str, value: str) -> str:
        return secrets.create_secret(Name=name, SecretString=value)["ARN"]

    deploy(
        {
            "ORANGE_API_URL": http.base_url,
            "ORANGE_CREDENTIALS_SECRET": secret(
                "creds", json.dumps({"client_id": "id", "client_secret": "secret"})
            ),
            "ORANGE_TOKEN_SECRET": secret("token", "{}"),
            "RECEIPT_TOKEN_SECRET": secret("receipt-token", TOKEN),
            "TABLE_NAME": "messages",
        },
        "orange-receipts:default:2670000:sub-stack",
    )
    http.registered["sub-stack"] = RECEIPT_URL
    return http


def output(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr().out
    assert TOKEN not in out
    return out


def test_create_registers_the_stacks_receipt_url(
    stack: FakeOrangeHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*STACK, "create"]) == 0

    created = json.loads(output(capsys))
    [subscription] = created["subscriptions"]
    assert (subscription["account"], subscription["sender"]) == ("default", "2670000")
    assert created["ref"] == f"orange-receipts:{subscription['ref']}"
    assert stack.registered[subscription["subscriptionId"]] == RECEIPT_URL


def test_show_tells_whether_each_subscription_is_the_gateways(
    stack: FakeOrangeHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.registered["sub-other"] = f"https://elsewhere.example/dr/{TOKEN}"

    assert cli.main([*STACK, "show"]) == 0
    [shown] = json.loads(output(capsys))
    assert (shown["subscriptionId"], shown["found"], shown["isReceiptUrl"]) == (
        "sub-stack",
        True,
        True,
    )
    assert shown["notifyUrl"] == f"{API_URL}/callbacks/orange/dr/****"

    assert cli.main([*STACK, "show", "default:2670000:sub-other", "default:2670000:gone"]) == 1
    other, gone = json.loads(output(capsys))
    assert (other["isReceiptUrl"], other["notifyUrl"]) == (
        False,
        "https://elsewhere.example/dr/****",
    )
    assert (gone["found"], gone["notifyUrl"]) == (False, None)


def test_delete_then_delete_again(
    stack: FakeOrangeHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*STACK, "delete"]) == 0
    assert json.loads(output(capsys)) == {"default:2670000:sub-stack": "deleted"}
    assert stack.deleted == ["/smsmessaging/v1/outbound/tel%3A%2B2670000/subscriptions/sub-stack"]

    assert cli.main([*STACK, "delete"]) == 0
    assert json.loads(output(capsys)) == {"default:2670000:sub-stack": "already gone"}


def test_a_delete_orange_refuses_exits_1(
    stack: FakeOrangeHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.delete_status = 500

    assert cli.main([*STACK, "delete"]) == 1
    assert json.loads(output(capsys)) == {
        "default:2670000:sub-stack": "failed: Orange 500 code 1: Internal error"
    }


def test_create_without_credentials_exits_1(
    stack: FakeOrangeHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="creds", SecretString=json.dumps({"client_id": "", "client_secret": ""})
    )

    assert cli.main([*STACK, "create"]) == 1
    skipped = json.loads(output(capsys))["skipped"]
    assert list(skipped) == ["default"]
    assert skipped["default"].startswith("no client credentials in arn:aws:secretsmanager:")
    assert stack.orange_calls("POST") == []


def test_a_bad_reference_is_a_clear_error(
    stack: FakeOrangeHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*STACK, "show", "sub-stack"]) == 1
    assert "not an account:sender:id subscription reference: 'sub-stack'" in capsys.readouterr().err


@pytest.mark.usefixtures("aws")
def test_a_stack_without_the_function_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("cloudformation").create_stack(
        StackName="gw",
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"ApiUrl": {"Value": API_URL}, "SendQueueUrl": {"Value": "q"}},
            }
        ),
    )
    assert cli.main([*STACK, "show"]) == 1
    assert "gw OrangeSubscriptionFunction" in capsys.readouterr().err


def test_the_local_stack_configuration_is_read_from_its_endpoints() -> None:
    local = Endpoints("http://127.0.0.1:3000", "q", "eu-west-1", "http://127.0.0.1:5000", {})

    with pytest.raises(EndpointsNotFound, match="no environment for OrangeSubscriptionFunction"):
        local.function_environment("OrangeSubscriptionFunction")
    variables = {"ORANGE_API_URL": "http://127.0.0.1:1"}
    local = Endpoints(
        "http://127.0.0.1:3000",
        "q",
        "eu-west-1",
        "http://127.0.0.1:5000",
        {"function_environments": {"OrangeSubscriptionFunction": variables}},
    )
    assert local.function_environment("OrangeSubscriptionFunction") == variables


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (RECEIPT_URL, f"{API_URL}/callbacks/orange/dr/****"),
        ("https://h.example:443/dr/secret?x=1", "https://h.example:443/dr/****"),
    ],
)
def test_the_receipt_token_is_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_urls_compare_without_the_default_port_orange_echoes() -> None:
    assert same_url("https://gw.example.com:443/dr/t", "https://gw.example.com/dr/t")
    assert not same_url("https://gw.example.com:8443/dr/t", "https://gw.example.com/dr/t")
    assert not same_url("https://gw.example.com/dr/t", "https://gw.example.com/dr/u")
