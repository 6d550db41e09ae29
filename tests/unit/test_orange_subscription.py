"""The receipt subscription: Orange's three calls, the references kept, and the custom
resource's handler as CloudFormation drives it (Create, Update, Delete, failures), with the
HTTP transport faked (sockets are off) and AWS in moto."""

import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from functions.orange_subscription import app
from gateway.aws.custom_resource import (
    ANSWER_RESERVE_SECONDS,
    CustomResourceRequest,
    Outcome,
    answer,
    respond,
)
from gateway.core.carrier_errors import OutcomeUnknown, Rejected, Unavailable
from gateway.orange.client import TokenRejected
from gateway.orange.config import OrangeConfig
from gateway.orange.subscriptions import (
    OrangeSubscriptionsApi,
    SubscriptionRef,
    decode_refs,
    encode_refs,
    subscription_sender,
)
from tests.fakes import FakeOrangeHttp
from tests.support import FakeLambdaContext, event, scripted_session

ORANGE = "https://api.orange.test"
API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
RESPONSE_URL = "https://cloudformation-custom-resource-response.s3.test/answer?X-Amz-Signature=x"
RECEIPT_TOKEN = "rcpt-" + "k" * 35
NOTIFY_URL = f"{API_URL}/callbacks/orange/dr/{RECEIPT_TOKEN}"
SUBSCRIBE = "/smsmessaging/v1/outbound/tel%3A%2B{sender}/subscriptions"


# -- references and the sender number --------------------------------------------------


def test_refs_round_trip_with_ids_that_need_quoting() -> None:
    refs = [
        SubscriptionRef("default", "2250000", "9b1c-7f"),
        SubscriptionRef("mali", "2230000", "odd:id,with/chars"),
    ]
    text = encode_refs(refs)

    assert text.startswith("orange-receipts:default:2250000:9b1c-7f,mali:2230000:odd%3Aid")
    assert decode_refs(text) == refs
    assert decode_refs(str(refs[1])) == [refs[1]]  # one ref as the CLI prints it
    assert decode_refs(encode_refs([])) == []


@pytest.mark.parametrize(
    "text",
    ["not-created", "2026/01/01/[$LATEST]0123abcd", "orange-receipts:", "Default:2250000:x"],
)
def test_anything_else_is_no_reference(text: str) -> None:
    with pytest.raises(ValueError, match="reference"):
        decode_refs(text)


def test_refs_longer_than_a_physical_id_are_refused() -> None:
    refs = [SubscriptionRef(f"account-{i}", "2250000", str(uuid.uuid4())) for i in range(20)]
    with pytest.raises(ValueError, match="1024"):
        encode_refs(refs)


@pytest.mark.parametrize(
    ("environment", "account", "sender"),
    [
        ({}, "default", "2670000"),  # the first country of Orange's table
        ({"ORANGE_SENDER_NUMBERS": "SEN=2219999,CIV=2259999"}, "default", "2259999"),
        ({"ORANGE_COUNTRY_ACCOUNTS": "MLI=mali"}, "mali", "2230000"),
        ({"ORANGE_COUNTRY_ACCOUNTS": "BWA=b,BFA=b"}, "default", "2370000"),
        ({"ORANGE_ACCOUNT_RATES": "spare=10"}, "spare", None),
    ],
)
def test_each_account_subscribes_under_one_of_its_own_sender_numbers(
    environment: dict[str, str], account: str, sender: str | None
) -> None:
    config = OrangeConfig.model_validate(
        {
            "ORANGE_API_URL": ORANGE,
            "ORANGE_CREDENTIALS_SECRET": "c",
            "ORANGE_TOKEN_SECRET": "t",
            **environment,
        }
    )
    assert subscription_sender(config, account) == sender


# -- Orange's three calls --------------------------------------------------------------


def created_body(subscription_id: str = "sub-1") -> dict[str, Any]:
    return {
        "deliveryReceiptSubscription": {
            "callbackReference": {"notifyURL": NOTIFY_URL},
            "resourceURL": f"{ORANGE}/smsmessaging/v1/outbound/subscriptions/{subscription_id}",
        }
    }


def test_create_posts_the_seed_body_to_the_encoded_sender_path() -> None:
    session, adapter = scripted_session((201, created_body("9f3c"), {}))
    api = OrangeSubscriptionsApi(ORANGE, session)

    assert api.create("tok", "2250000", NOTIFY_URL) == "9f3c"

    [request] = adapter.requests
    assert (request.method, request.url) == ("POST", ORANGE + SUBSCRIBE.format(sender="2250000"))
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.body or b"") == {
        "deliveryReceiptSubscription": {"callbackReference": {"notifyURL": NOTIFY_URL}}
    }
    assert adapter.timeouts == [(3.05, 10.0)]


def test_show_and_delete_use_the_seed_paths() -> None:
    session, adapter = scripted_session((200, created_body("9f3c"), {}))
    api = OrangeSubscriptionsApi(ORANGE, session)

    assert api.show("tok", "9f3c") == NOTIFY_URL
    adapter.answer = (204, b"", {})
    assert api.delete("tok", "2250000", "9f3c") is True

    show, delete = adapter.requests
    assert (show.method, show.url) == (
        "GET",
        f"{ORANGE}/smsmessaging/v1/outbound/subscriptions/9f3c",
    )
    assert (delete.method, delete.url) == (
        "DELETE",
        ORANGE + SUBSCRIBE.format(sender="2250000") + "/9f3c",
    )


def test_a_404_is_no_subscription() -> None:
    session, _ = scripted_session((404, {"code": 60, "message": "Resource not found"}, {}))
    api = OrangeSubscriptionsApi(ORANGE, session)

    assert api.show("tok", "gone") is None
    assert api.delete("tok", "2250000", "gone") is False


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((401, {"code": 42, "message": "Expired credentials"}, {}), TokenRejected),
        ((403, {"code": 53, "message": "Too many requests"}, {}), Unavailable),
        ((503, {"code": 1, "message": "Internal error"}, {}), Unavailable),
        ((400, {"requestError": {"serviceException": {"messageId": "SVC0002"}}}, {}), Rejected),
        ((201, {}, {}), OutcomeUnknown),  # taken, but no id to keep
        (requests.ReadTimeout("read timed out"), OutcomeUnknown),
        (requests.ConnectionError("refused"), OutcomeUnknown),
    ],
)
def test_create_failures(answer: Any, error: type[Exception]) -> None:
    session, _ = scripted_session(answer)
    with pytest.raises(error):
        OrangeSubscriptionsApi(ORANGE, session).create("tok", "2250000", NOTIFY_URL)


def test_a_refused_registration_says_why_without_the_token() -> None:
    refusal = {
        "requestError": {
            "serviceException": {
                "messageId": "SVC0002",
                "text": "Invalid input value for message part %1",
                "variables": ["notifyURL"],
            }
        }
    }
    session, _ = scripted_session((400, refusal, {}))
    with pytest.raises(Rejected) as raised:
        OrangeSubscriptionsApi(ORANGE, session).create("tok", "2250000", NOTIFY_URL)
    assert str(raised.value) == "Orange 400 SVC0002: Invalid input value for message part notifyURL"


# -- the custom resource, as CloudFormation drives it ----------------------------------


@pytest.fixture
def stack_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The subscription function's environment with two accounts (Mali on its own)."""
    secrets = boto3.client("secretsmanager")
    credentials = json.dumps({"client_id": "id", "client_secret": "secret"})

    def secret(name: str, value: str) -> str:
        return secrets.create_secret(Name=name, SecretString=value)["ARN"]

    environment = {
        "ORANGE_API_URL": ORANGE,
        "ORANGE_CREDENTIALS_SECRET": secret("creds", credentials),
        "ORANGE_TOKEN_SECRET": secret("token", "{}"),
        "ORANGE_SECRETS_PREFIX": "gw/orange",
        "ORANGE_COUNTRY_ACCOUNTS": "MLI=mali",
        "RECEIPT_TOKEN_SECRET": secret("receipt-token", RECEIPT_TOKEN),
    }
    secret("gw/orange/mali/credentials", credentials)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


def cfn_event(request_type: str = "Create", **fields: Any) -> dict[str, Any]:
    return event("cfn_orange_subscription.json", RequestType=request_type, **fields)


def run(request: dict[str, Any], remaining_ms: int = 120_000) -> dict[str, Any]:
    result: dict[str, Any] = app.handler(request, FakeLambdaContext(remaining_ms=remaining_ms))
    return result


@pytest.mark.usefixtures("stack_env")
def test_create_registers_each_account_and_answers_their_refs(
    http: FakeOrangeHttp, logs: io.StringIO
) -> None:
    assert run(cfn_event()) == {"status": "SUCCESS"}

    posts = http.orange_calls("POST")
    assert [urlsplit(p.url or "").path for p in posts] == [
        SUBSCRIBE.format(sender="2670000"),
        SUBSCRIBE.format(sender="2230000"),
    ]
    assert {
        json.loads(p.body or b"")["deliveryReceiptSubscription"]["callbackReference"]["notifyURL"]
        for p in posts
    } == {NOTIFY_URL}
    [answer_] = http.answers
    refs = decode_refs(answer_["PhysicalResourceId"])
    assert [(r.account, r.sender_number) for r in refs] == [
        ("default", "2670000"),
        ("mali", "2230000"),
    ]
    sample = cfn_event()
    assert answer_ == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": answer_["PhysicalResourceId"],
        "StackId": sample["StackId"],
        "RequestId": sample["RequestId"],
        "LogicalResourceId": "OrangeReceiptSubscription",
        "NoEcho": False,
        "Data": {
            "SubscriptionIds": ",".join(r.subscription_id for r in refs),
            "Accounts": "default,mali",
            "Skipped": "",
        },
    }
    # The presigned URL was signed for no content type; every call had its timeouts.
    assert http.answer_headers[0]["Content-Type"] == ""
    assert all(timeout is not None for timeout in http.timeouts)
    assert RECEIPT_TOKEN not in logs.getvalue() + json.dumps(http.answers)


@pytest.mark.usefixtures("stack_env")
def test_an_account_without_credentials_yet_is_skipped(http: FakeOrangeHttp) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="gw/orange/mali/credentials",
        SecretString=json.dumps({"client_id": "", "client_secret": ""}),
    )

    assert run(cfn_event())["status"] == "SUCCESS"

    [answer_] = http.answers
    assert [r.account for r in decode_refs(answer_["PhysicalResourceId"])] == ["default"]
    assert answer_["Data"]["Skipped"] == "mali: no client credentials in gw/orange/mali/credentials"


@pytest.mark.usefixtures("stack_env")
def test_a_failed_create_answers_what_it_registered_for_the_rollback_to_delete(
    http: FakeOrangeHttp, logs: io.StringIO
) -> None:
    # Orange's refusal quotes the URL it refused: the token must not get through.
    http.refuse["2230000"] = (
        400,
        {
            "requestError": {
                "serviceException": {
                    "messageId": "SVC0002",
                    "text": "Invalid input value for message part %1",
                    "variables": [NOTIFY_URL],
                }
            }
        },
    )

    assert run(cfn_event())["status"] == "FAILED"

    [answer_] = http.answers
    assert [r.account for r in decode_refs(answer_["PhysicalResourceId"])] == ["default"]
    assert answer_["Reason"].startswith("account mali: Orange 400 SVC0002: Invalid input value")
    assert "[receipt-token]" in answer_["Reason"]
    assert RECEIPT_TOKEN not in logs.getvalue() + json.dumps(http.answers)

    # The rollback's Delete removes exactly that.
    rollback = cfn_event("Delete", PhysicalResourceId=answer_["PhysicalResourceId"])
    assert run(rollback)["status"] == "SUCCESS"
    ref = decode_refs(answer_["PhysicalResourceId"])[0]
    assert http.deleted == [SUBSCRIBE.format(sender="2670000") + f"/{ref.subscription_id}"]


@pytest.mark.usefixtures("stack_env")
def test_update_registers_anew_and_leaves_the_old_id_to_cloudformation(
    http: FakeOrangeHttp,
) -> None:
    old = encode_refs([SubscriptionRef("default", "2670000", "old-1")])

    assert run(cfn_event("Update", PhysicalResourceId=old))["status"] == "SUCCESS"

    [answer_] = http.answers
    assert answer_["PhysicalResourceId"] != old
    assert len(decode_refs(answer_["PhysicalResourceId"])) == 2
    assert http.orange_calls("DELETE") == []  # CloudFormation sends the Delete for `old`


@pytest.mark.usefixtures("stack_env")
def test_a_failed_update_keeps_the_current_id(http: FakeOrangeHttp) -> None:
    old = encode_refs([SubscriptionRef("default", "2670000", "old-1")])
    http.refuse["2670000"] = (503, {"code": 1, "message": "Internal error"})

    assert run(cfn_event("Update", PhysicalResourceId=old))["status"] == "FAILED"

    [answer_] = http.answers
    assert answer_["PhysicalResourceId"] == old
    assert answer_["Reason"] == (
        "account default: Orange 503 code 1: Internal error (registered before it: none)"
    )


@pytest.mark.usefixtures("stack_env")
def test_delete_removes_each_subscription_and_a_404_is_success(http: FakeOrangeHttp) -> None:
    refs = [SubscriptionRef("default", "2670000", "a-1"), SubscriptionRef("mali", "2230000", "b-2")]
    http.delete_status = 404

    assert run(cfn_event("Delete", PhysicalResourceId=encode_refs(refs)))["status"] == "SUCCESS"

    assert http.deleted == [
        SUBSCRIBE.format(sender="2670000") + "/a-1",
        SUBSCRIBE.format(sender="2230000") + "/b-2",
    ]
    [answer_] = http.answers
    assert (answer_["Status"], answer_["PhysicalResourceId"]) == ("SUCCESS", encode_refs(refs))
    assert answer_["Data"]["AlreadyGone"] == ",".join(map(str, refs))


@pytest.mark.usefixtures("stack_env")
@pytest.mark.parametrize("physical_id", ["not-created", "2026/01/01/[$LATEST]0123abcd"])
def test_deleting_an_id_that_is_not_ours_calls_nobody(
    http: FakeOrangeHttp, physical_id: str
) -> None:
    assert run(cfn_event("Delete", PhysicalResourceId=physical_id))["status"] == "SUCCESS"

    assert http.orange_calls("DELETE") == []
    assert http.answers[0]["PhysicalResourceId"] == physical_id


@pytest.mark.usefixtures("stack_env")
def test_a_delete_orange_fails_is_failed_with_the_reason(http: FakeOrangeHttp) -> None:
    physical = encode_refs([SubscriptionRef("default", "2670000", "a-1")])
    http.delete_status = 500

    assert run(cfn_event("Delete", PhysicalResourceId=physical))["status"] == "FAILED"

    [answer_] = http.answers
    assert (
        answer_["Reason"] == "not deleted: default:2670000:a-1: Orange 500 code 1: Internal error"
    )


@pytest.mark.usefixtures("stack_env")
def test_a_refused_token_is_renewed_once(http: FakeOrangeHttp) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="token",
        SecretString=json.dumps(
            {"access_token": "stale", "expires_at": time.time() + 3000, "lifetime": 3600}
        ),
    )
    http.expired_tokens.add("stale")
    physical = encode_refs([SubscriptionRef("default", "2670000", "a-1")])

    assert run(cfn_event("Delete", PhysicalResourceId=physical))["status"] == "SUCCESS"

    assert http.token_requests == 1
    assert [r.headers["Authorization"] for r in http.orange_calls("DELETE")] == [
        "Bearer stale",
        "Bearer t1",
    ]


@pytest.mark.usefixtures("stack_env")
def test_a_create_without_an_api_url_fails_at_once(http: FakeOrangeHttp) -> None:
    request = cfn_event()
    request["ResourceProperties"] = {"ServiceToken": request["ServiceToken"]}

    assert run(request)["status"] == "FAILED"

    assert http.orange_calls("POST") == []
    assert http.answers[0]["Reason"] == "the ApiUrl property must be the API's base URL"
    assert http.answers[0]["PhysicalResourceId"] == "orange-receipts:none"


# -- the runner: always an answer, in time ----------------------------------------------


@dataclass
class StubProvider:
    behaviour: Callable[[CustomResourceRequest, threading.Event], Outcome]
    cancelled: threading.Event | None = None

    def handle(self, request: CustomResourceRequest, cancelled: threading.Event) -> Outcome:
        self.cancelled = cancelled
        return self.behaviour(request, cancelled)

    def redact(self, text: str) -> str:
        return text.replace("s3cr3t", "[hidden]")


def test_work_past_the_deadline_is_answered_failed_in_time(http: FakeOrangeHttp) -> None:
    release = threading.Event()

    def stuck(request: CustomResourceRequest, cancelled: threading.Event) -> Outcome:
        release.wait(10)
        return Outcome.success("late")

    provider = StubProvider(stuck)
    started = time.monotonic()
    outcome = answer(cfn_event(), lambda: ANSWER_RESERVE_SECONDS + 0.3, provider)
    release.set()

    assert time.monotonic() - started < 2
    assert outcome is not None
    assert (outcome.status, outcome.physical_resource_id) == ("FAILED", "not-created")
    assert outcome.reason == "not done within 0 s"
    assert provider.cancelled is not None
    assert provider.cancelled.is_set()
    assert http.answers[0]["Status"] == "FAILED"


def test_an_unexpected_error_is_answered_failed_and_redacted(
    http: FakeOrangeHttp, logs: io.StringIO
) -> None:
    def broken(request: CustomResourceRequest, cancelled: threading.Event) -> Outcome:
        raise KeyError("s3cr3t")

    update = cfn_event("Update", PhysicalResourceId="keep-me")
    outcome = answer(update, lambda: 100.0, StubProvider(broken))

    assert outcome == Outcome.failed("keep-me", "KeyError: '[hidden]'")
    assert http.answers[0]["Reason"] == "KeyError: '[hidden]'"
    assert "custom resource failed" in logs.getvalue()
    assert "s3cr3t" not in logs.getvalue()


def test_a_malformed_request_is_still_answered(http: FakeOrangeHttp) -> None:
    broken = {"RequestType": "Create", "ResponseURL": RESPONSE_URL, "StackId": "arn:stack"}

    outcome = answer(broken, lambda: 100.0, StubProvider(lambda r, c: Outcome.success("x")))

    assert outcome is not None
    assert outcome.status == "FAILED"
    assert "RequestId" in outcome.reason
    assert http.answers[0]["StackId"] == "arn:stack"


def test_without_a_response_url_there_is_nobody_to_answer(http: FakeOrangeHttp) -> None:
    assert (
        answer({"hello": "world"}, lambda: 100.0, StubProvider(lambda r, c: Outcome.success("x")))
        is None
    )
    assert http.sent == []


def test_the_answer_is_retried_on_server_errors_only(http: FakeOrangeHttp) -> None:
    http.put_statuses = [500, 503, 200]
    assert respond(RESPONSE_URL, {"Status": "SUCCESS"}) is True
    assert len(http.answers) == 3

    http.put_statuses = [403]
    assert respond(RESPONSE_URL, {"Status": "SUCCESS"}) is False
    assert len(http.answers) == 4
