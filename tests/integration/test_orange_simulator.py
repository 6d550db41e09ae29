"""The Orange SMS API simulator over real HTTP on loopback."""

import random
import signal
import statistics
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from gateway.core.segments import count_segments as gateway_segments
from gateway.orange.admin import OrangeAdmin
from infra.simulators._segments import count_segments as simulated_segments
from infra.simulators.orange import FaultPlan, NetworkDelay, OrangeSimulator
from tests.integration import simulator_support
from tests.integration.simulator_support import (
    TIMEOUT,
    TOO_MANY,
    WITHOUT_A_VALID_BEARER,
    Endpoint,
    bearer_of,
    command_line,
    free_port,
    running,
    simulators,
    wait_for_stats,
)

pytestmark = pytest.mark.integration

SENDER = "2250000"
SEND_PATH = f"/smsmessaging/v1/outbound/tel%3A%2B{SENDER}/requests"
SUBSCRIBE_PATH = f"/smsmessaging/v1/outbound/tel%3A%2B{SENDER}/subscriptions"
EXPIRED = {
    "code": 42,
    "message": "Expired credentials",
    "description": "The requested service needs credentials, and the ones provided were "
    "out-of-date.",
}

MakeSim = Callable[..., OrangeSimulator]


class Receiver(Endpoint):
    """A tiny receipt endpoint: answers `replies` in turn, then 200, and records every POST."""

    def __init__(self, replies: Sequence[int] = ()) -> None:
        super().__init__(name="test-receipt-receiver", path="/orange/dr")
        self.posts: list[tuple[int, dict[str, Any]]] = []
        self._replies = deque(replies)

    def _answer(self, request: Request) -> Response:
        with self._lock:
            status = self._replies.popleft() if self._replies else 200
            self.posts.append((status, request.get_json()))
        return Response(status=status)

    def statuses(self, resource_id: str) -> list[str]:
        """Acknowledged delivery statuses of one message, in arrival order."""
        with self._lock:
            return [
                body["deliveryInfoNotification"]["deliveryInfo"]["deliveryStatus"]
                for status, body in self.posts
                if status == 200 and body["deliveryInfoNotification"]["callbackData"] == resource_id
            ]


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    with simulators(OrangeSimulator, receipt_delay=0.05) as make:
        yield make


@pytest.fixture
def sim(make_sim: MakeSim) -> OrangeSimulator:
    return make_sim(rate_per_second=1000)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running(Receiver()) as receiver:
        yield receiver


def request_token(sim: OrangeSimulator, **kwargs: Any) -> requests.Response:
    url = f"{sim.url}/oauth/v3/token"
    return simulator_support.request_token(url, ("local-client", "local-secret"), **kwargs)


def bearer(sim: OrangeSimulator) -> dict[str, str]:
    return bearer_of(request_token(sim))


def sms_body(to: str = "22507000012", text: str = "Hello!", **fields: Any) -> dict[str, Any]:
    request = {
        "address": f"tel:+{to}",
        "senderAddress": f"tel:+{SENDER}",
        "outboundSMSTextMessage": {"message": text},
        **fields,
    }
    return {"outboundSMSMessageRequest": request}


def send(
    sim: OrangeSimulator,
    headers: dict[str, str],
    body: Any = None,
    path: str = SEND_PATH,
    timeout: float = TIMEOUT,
) -> requests.Response:
    payload = sms_body() if body is None else body
    return requests.post(f"{sim.url}{path}", json=payload, headers=headers, timeout=timeout)


def admin(sim: OrangeSimulator, headers: dict[str, str], resource: str) -> Any:
    response = requests.get(f"{sim.url}/sms/admin/v1/{resource}", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


def invalid_field(field: str) -> dict[str, Any]:
    return {
        "requestError": {
            "serviceException": {
                "messageId": "SVC0002",
                "text": "Invalid input value for message part %1",
                "variables": [field],
            }
        }
    }


def policy_refusal(reason: str) -> dict[str, Any]:
    return {
        "requestError": {
            "policyException": {
                "messageId": "POL0001",
                "text": "A policy error occurred. For example, rate limit error, authorization "
                "error etc.",
                "variables": [reason],
            }
        }
    }


# -- OAuth ---------------------------------------------------------------------


def test_token_expires_in_is_a_string_as_in_the_seed(sim: OrangeSimulator) -> None:
    response = request_token(sim)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3600"
    assert len(body["access_token"]) >= 20
    assert request_token(sim).json()["access_token"] != body["access_token"]
    assert sim.stats()["token_requests"] == 2


def test_token_lifetime_can_be_reported_as_a_number(make_sim: MakeSim) -> None:
    sim = make_sim(token_lifetime=120, expires_in_as_number=True)

    assert request_token(sim).json()["expires_in"] == 120


@pytest.mark.parametrize(
    "auth",
    [None, ("local-client", "wrong"), ("someone-else", "local-secret")],
    ids=["missing", "wrong-secret", "wrong-client"],
)
def test_token_refuses_bad_client_credentials(
    sim: OrangeSimulator, auth: tuple[str, str] | None
) -> None:
    response = request_token(sim, auth=auth)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]
    assert sim.stats()["token_requests"] == 1


def test_token_requires_the_client_credentials_grant(sim: OrangeSimulator) -> None:
    response = request_token(sim, data={"grant_type": "password"})

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


# -- bearer tokens -------------------------------------------------------------


@WITHOUT_A_VALID_BEARER
def test_send_without_a_valid_token_is_code_41(
    sim: OrangeSimulator, headers: dict[str, str]
) -> None:
    response = send(sim, headers)

    assert response.status_code == 401
    assert response.json()["code"] == 41
    assert response.json()["message"] == "Invalid credentials"
    assert sim.stats()["rejected_401"] == 1
    assert sim.sends() == []


def test_expired_tokens_get_code_42_and_a_new_token_works(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    sim.expire_tokens()

    expired = send(sim, headers)
    fresh = send(sim, bearer(sim))

    assert expired.status_code == 401
    assert expired.json() == EXPIRED
    assert fresh.status_code == 201


def test_expire_tokens_over_http(sim: OrangeSimulator) -> None:
    headers = bearer(sim)

    control = requests.post(f"{sim.url}/_sim/expire-tokens", timeout=TIMEOUT)

    assert control.json() == {"expired": 1}
    assert send(sim, headers).json() == EXPIRED


def test_token_expires_after_its_lifetime(make_sim: MakeSim) -> None:
    sim = make_sim(token_lifetime=1)
    headers = bearer(sim)
    assert send(sim, headers).status_code == 201

    time.sleep(1.3)

    assert send(sim, headers).json() == EXPIRED
    assert sim.stats()["rejected_401"] == 1


# -- rate limit ----------------------------------------------------------------


def test_sixth_send_within_a_second_is_code_53_until_the_window_slides(
    make_sim: MakeSim,
) -> None:
    sim = make_sim()  # the seeds' 5 SMS per second
    headers = bearer(sim)

    statuses = [send(sim, headers, sms_body(text=f"burst {i}")) for i in range(6)]

    assert [r.status_code for r in statuses] == [201] * 5 + [403]
    assert statuses[5].json() == TOO_MANY
    assert sim.stats()["rejected_53"] == 1
    assert len(sim.sends()) == 5

    time.sleep(1.2)
    assert send(sim, headers).status_code == 201


TWO_PARTS = "b" * 161  # GSM-7, one septet over a single SMS


def test_an_account_billed_per_segment_has_five_segments_a_second(make_sim: MakeSim) -> None:
    sim = make_sim(segment_billed=["local-client"])
    headers = bearer(sim)

    codes = [send(sim, headers, sms_body(text=f"{TWO_PARTS} {i}")).status_code for i in range(3)]
    last_unit = send(sim, headers, sms_body(text="one part"))

    assert codes == [201, 201, 403]  # 2 + 2 segments, then 2 more would make 6
    assert last_unit.status_code == 201  # the fifth segment
    assert sim.stats()["rejected_53"] == 1


def test_an_account_is_billed_per_segment_only_once_told_so(make_sim: MakeSim) -> None:
    sim = make_sim()
    headers = bearer(sim)
    per_send = [send(sim, headers, sms_body(text=f"{TWO_PARTS} {i}")) for i in range(5)]
    assert [r.status_code for r in per_send] == [201] * 5  # 5 sends, whatever their segments

    time.sleep(1.1)
    sim.set_segment_billed("local-client")
    per_segment = [send(sim, headers, sms_body(text=f"{TWO_PARTS} {i}")) for i in range(5, 8)]
    assert [r.status_code for r in per_segment] == [201, 201, 403]


def test_segments_are_counted_by_the_simulators_own_rule(make_sim: MakeSim) -> None:
    """An escape sequence never straddles two parts: 152 septets, the euro sign's two pushed
    into the second part, 152 more spill into a third. The gateway's count says two."""
    straddling = "a" * 152 + "€" + "a" * 152
    assert simulated_segments(straddling) == 3
    assert gateway_segments(straddling) == 2
    sim = make_sim(segment_billed=["local-client"])
    headers = bearer(sim)

    first = send(sim, headers, sms_body(text=straddling))
    second = send(sim, headers, sms_body(text=straddling + " "))

    assert (first.status_code, second.status_code) == (201, 403)  # 3 + 3 segments


def test_a_send_of_more_segments_than_the_cap_goes_only_into_an_empty_window(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(segment_billed=["local-client"])
    headers = bearer(sim)
    assert send(sim, headers, sms_body(text="one part")).status_code == 201
    six_parts = "c" * (153 * 5 + 1)

    assert send(sim, headers, sms_body(text=six_parts)).status_code == 403
    time.sleep(1.1)
    assert send(sim, headers, sms_body(text=six_parts)).status_code == 201
    assert send(sim, headers, sms_body(text="one part")).status_code == 403


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 158 + "€", 1),  # two septets: 160
        ("a" * 159 + "€", 2),
        ("é" * 160, 1),  # in the GSM 7-bit default alphabet
        ("ç" * 70, 1),  # not in it: UCS-2
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("😀" * 35, 1),  # a surrogate pair each: 70 code units
        ("ç" * 66 + "😀" + "ç" * 66, 3),  # the pair is not split: 66 + (2 + 66 > 67)
    ],
)
def test_segment_counts_follow_3gpp_23_038(text: str, segments: int) -> None:
    assert simulated_segments(text) == segments


# -- sending -------------------------------------------------------------------


def test_send_answers_201_with_the_seed_shape_and_records_it(sim: OrangeSimulator) -> None:
    headers = bearer(sim)

    response = send(sim, headers, sms_body(to="22507000012", text="Bonjour"))

    assert response.status_code == 201
    echo = response.json()["outboundSMSMessageRequest"]
    resource_url = echo.pop("resourceURL")
    assert echo == {
        "senderAddress": f"tel:+{SENDER}",
        "senderName": "SMS 123456",
        "outboundSMSTextMessage": {"message": "Bonjour"},
    }
    assert response.headers["Location"] == resource_url
    prefix = f"{sim.url}/smsmessaging/v1/outbound/tel:+{SENDER}/requests/"
    assert resource_url.startswith(prefix)
    resource_id = resource_url.removeprefix(prefix)
    assert uuid.UUID(resource_id).version == 4
    [record] = sim.sends()
    assert (record.recipient, record.sender, record.text) == ("+22507000012", "+2250000", "Bonjour")
    assert (record.sender_name, record.on_net, record.country) == (None, False, "CIV")
    assert (record.resource_id, record.account) == (resource_id, "local-client")


def test_send_accepts_the_decoded_sender_in_the_path(sim: OrangeSimulator) -> None:
    response = send(sim, bearer(sim), path=f"/smsmessaging/v1/outbound/tel:+{SENDER}/requests")

    assert response.status_code == 201


def test_send_debits_the_senders_country_contract(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    senegal = sms_body(to="221770000012", senderAddress="tel:+2210000")

    assert send(sim, headers, senegal, path=SEND_PATH.replace(SENDER, "2210000")).status_code == 201

    units = {c["country"]: c["availableUnits"] for c in admin(sim, headers, "contracts")}
    assert units["SEN"] == 999
    assert units["CIV"] == 1000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (sms_body(senderAddress="tel:+2210000"), "senderAddress"),
        (sms_body(to="abc"), "address"),
        (sms_body(text=""), "message"),
        ({"outboundSMSMessageRequest": {"address": "tel:+22507000012"}}, "senderAddress"),
        (sms_body(outboundSMSTextMessage="Hello!"), "outboundSMSTextMessage"),
        ({"somethingElse": {}}, "outboundSMSMessageRequest"),
        (sms_body(senderName="NotApproved"), "senderName"),
    ],
    ids=[
        "sender-mismatch",
        "bad-address",
        "empty-message",
        "missing-sender",
        "text-not-object",
        "wrong-root",
        "sender-name-not-allowed",
    ],
)
def test_malformed_sends_are_400_svc0002(
    sim: OrangeSimulator, body: dict[str, Any], field: str
) -> None:
    response = send(sim, bearer(sim), body)

    assert response.status_code == 400
    assert response.json() == invalid_field(field)
    assert sim.sends() == []
    assert sim.stats()["rejected_400"] == 1


def test_a_body_that_is_not_json_is_400(sim: OrangeSimulator) -> None:
    response = requests.post(
        f"{sim.url}{SEND_PATH}", data="Hello!", headers=bearer(sim), timeout=TIMEOUT
    )

    assert response.status_code == 400
    assert response.json() == invalid_field("outboundSMSMessageRequest")


def test_an_allowed_sender_name_is_used_and_recorded(sim: OrangeSimulator) -> None:
    response = send(sim, bearer(sim), sms_body(senderName="MonService"))

    assert response.status_code == 201
    assert response.json()["outboundSMSMessageRequest"]["senderName"] == "MonService"
    assert sim.sends()[0].sender_name == "MonService"


def test_on_net_query_marks_the_send_and_counts_under_sms_ocb2(sim: OrangeSimulator) -> None:
    headers = bearer(sim)

    on_net = send(sim, headers, path=f"{SEND_PATH}?resource_type_parameter_management=SMS_OCB2")
    off_net = send(sim, headers)

    assert (on_net.status_code, off_net.status_code) == (201, 201)
    assert [s.on_net for s in sim.sends()] == [True, False]
    services = admin(sim, headers, "statistics")["partnerStatistics"]["statistics"]
    assert sorted(s["service"] for s in services) == ["SMS_OCB", "SMS_OCB2"]


def test_an_unknown_offer_in_the_query_is_400(sim: OrangeSimulator) -> None:
    response = send(sim, bearer(sim), path=f"{SEND_PATH}?resource_type_parameter_management=X")

    assert response.status_code == 400
    assert response.json() == invalid_field("resource_type_parameter_management")


def test_a_sender_outside_the_country_table_is_400(sim: OrangeSimulator) -> None:
    body = sms_body(senderAddress="tel:+330000")

    response = send(sim, bearer(sim), body, path=SEND_PATH.replace(SENDER, "330000"))

    assert response.json() == invalid_field("senderAddress")


def test_sends_without_balance_or_after_expiry_are_pol0001(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    sim.set_contract("CIV", units=1)
    sim.set_contract("MLI", units=10, expires_at=datetime.now(UTC) - timedelta(minutes=1))

    def send_from(sender: str) -> requests.Response:
        body = sms_body(senderAddress=f"tel:+{sender}")
        return send(sim, headers, body, path=SEND_PATH.replace(SENDER, sender))

    assert send_from(SENDER).status_code == 201
    emptied = send_from(SENDER)
    expired = send_from("2230000")
    no_contract = send_from("2260000")  # Burkina Faso: a country without a contract

    assert (emptied.status_code, expired.status_code, no_contract.status_code) == (403, 403, 403)
    assert emptied.json() == policy_refusal("Insufficient balance")
    assert expired.json() == policy_refusal("Expired contract")
    assert no_contract.json() == policy_refusal("Insufficient balance")
    assert sim.stats()["rejected_policy"] == 3
    assert len(sim.sends()) == 1


def test_repeated_recipient_and_text_count_as_duplicate_sends(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    for text in ("one", "two", "one"):
        send(sim, headers, sms_body(text=text))

    stats = requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT).json()
    sends = requests.get(f"{sim.url}/_sim/sends", timeout=TIMEOUT).json()

    assert (stats["sends"], stats["duplicate_sends"]) == (3, 1)
    assert [s["text"] for s in sends] == ["one", "two", "one"]
    assert {s["recipient"] for s in sends} == {"+22507000012"}


# -- delivery receipts ---------------------------------------------------------


def test_receipts_follow_the_outcome_table_in_order(make_sim: MakeSim, receiver: Receiver) -> None:
    sim = make_sim(notify_url=receiver.url)
    headers = bearer(sim)
    expected = {
        "22507000099": ["DeliveryImpossible"],
        "22507000098": ["DeliveryUncertain"],
        "22507000097": ["MessageWaiting", "DeliveredToTerminal"],
        "22507000096": [],
        "22507000012": ["DeliveredToNetwork", "DeliveredToTerminal"],
    }
    resource_ids = {
        to: send(sim, headers, sms_body(to=to)).headers["Location"].rsplit("/", 1)[1]
        for to in expected
    }

    assert sim.wait_for_receipts(TIMEOUT)

    assert {to: receiver.statuses(rid) for to, rid in resource_ids.items()} == expected
    assert sim.stats()["receipts_pushed"] == 6
    assert receiver.posts[0][1] == {
        "deliveryInfoNotification": {
            "callbackData": resource_ids["22507000099"],
            "deliveryInfo": {"address": "tel:+22507000099", "deliveryStatus": "DeliveryImpossible"},
        }
    }


def test_receipts_arrive_after_the_send_answer(make_sim: MakeSim, receiver: Receiver) -> None:
    sim = make_sim(notify_url=receiver.url, receipt_delay=0.5)

    assert send(sim, bearer(sim)).status_code == 201
    assert receiver.posts == []

    assert sim.wait_for_receipts(TIMEOUT)
    assert len(receiver.posts) == 2


def test_duplicate_receipts_posts_each_status_twice(make_sim: MakeSim, receiver: Receiver) -> None:
    sim = make_sim(notify_url=receiver.url, duplicate_receipts=True)
    location = send(sim, bearer(sim), sms_body(to="22507000097")).headers["Location"]

    assert sim.wait_for_receipts(TIMEOUT)

    assert receiver.statuses(location.rsplit("/", 1)[1]) == [
        "MessageWaiting",
        "MessageWaiting",
        "DeliveredToTerminal",
        "DeliveredToTerminal",
    ]


def test_a_refused_receipt_is_retried_until_acknowledged(make_sim: MakeSim) -> None:
    flaky = Receiver(replies=[500, 204])  # the seeds want exactly 200
    with running(flaky):
        sim = make_sim(notify_url=flaky.url)
        send(sim, bearer(sim), sms_body(to="22507000099"))
        assert sim.wait_for_receipts(TIMEOUT)

    assert [status for status, _ in flaky.posts] == [500, 204, 200]
    [result] = sim.receipts()
    assert (result.delivered, result.attempts, result.status) == (True, 3, 200)
    assert (sim.stats()["receipts_pushed"], sim.stats()["receipts_failed"]) == (1, 0)


def test_an_unreachable_receiver_is_recorded_as_failed(make_sim: MakeSim) -> None:
    sim = make_sim(notify_url=f"http://127.0.0.1:{free_port()}/dr")
    send(sim, bearer(sim), sms_body(to="22507000099"))

    assert sim.wait_for_receipts(TIMEOUT)

    [result] = sim.receipts()
    assert (result.delivered, result.status, result.error) == (False, None, "ConnectionError")
    assert result.attempts > 1
    assert sim.stats()["receipts_failed"] == 1
    assert send(sim, bearer(sim)).status_code == 201  # the server lives on


def test_set_notify_url_redirects_later_receipts(sim: OrangeSimulator, receiver: Receiver) -> None:
    headers = bearer(sim)
    send(sim, headers)  # no notify URL yet: no receipt
    sim.set_notify_url(receiver.url)
    send(sim, headers, sms_body(to="22507000099"))
    sim.set_notify_url(None)
    send(sim, headers)

    assert sim.wait_for_receipts(TIMEOUT)

    assert [
        body["deliveryInfoNotification"]["deliveryInfo"]["address"] for _, body in receiver.posts
    ] == ["tel:+22507000099"]


# -- receipt subscriptions -----------------------------------------------------


def subscribe(sim: OrangeSimulator, headers: dict[str, str], url: str) -> requests.Response:
    body = {"deliveryReceiptSubscription": {"callbackReference": {"notifyURL": url}}}
    return requests.post(f"{sim.url}{SUBSCRIBE_PATH}", json=body, headers=headers, timeout=TIMEOUT)


def test_subscription_create_show_and_delete(sim: OrangeSimulator, receiver: Receiver) -> None:
    headers = bearer(sim)

    created = subscribe(sim, headers, receiver.url)

    assert created.status_code == 201
    body = created.json()["deliveryReceiptSubscription"]
    assert body["callbackReference"] == {"notifyURL": receiver.url}
    prefix = f"{sim.url}/smsmessaging/v1/outbound/subscriptions/"
    assert body["resourceURL"].startswith(prefix)
    subscription_id = body["resourceURL"].removeprefix(prefix)

    shown = requests.get(body["resourceURL"], headers=headers, timeout=TIMEOUT)
    assert (shown.status_code, shown.json()) == (200, created.json())

    deleted = requests.delete(
        f"{sim.url}{SUBSCRIBE_PATH}/{subscription_id}", headers=headers, timeout=TIMEOUT
    )
    assert deleted.status_code == 204
    gone = requests.get(body["resourceURL"], headers=headers, timeout=TIMEOUT)
    assert (gone.status_code, gone.json()["code"]) == (404, 60)


def test_receipts_follow_the_latest_subscription_until_it_is_deleted(
    sim: OrangeSimulator, receiver: Receiver
) -> None:
    headers = bearer(sim)
    other = Receiver()
    with running(other):
        subscribe(sim, headers, other.url)
        latest = subscribe(sim, headers, receiver.url).json()["deliveryReceiptSubscription"]
        send(sim, headers, sms_body(to="22507000099"))
        assert sim.wait_for_receipts(TIMEOUT)
    assert (len(other.posts), len(receiver.posts)) == (0, 1)

    subscription_id = latest["resourceURL"].rsplit("/", 1)[1]
    requests.delete(
        f"{sim.url}{SUBSCRIBE_PATH}/{subscription_id}", headers=headers, timeout=TIMEOUT
    )
    send(sim, headers, sms_body(to="22507000099"))

    assert sim.wait_for_receipts(TIMEOUT)
    assert len(receiver.posts) == 1


def test_each_account_has_its_own_receipt_url(sim: OrangeSimulator, receiver: Receiver) -> None:
    """Orange keeps one receipt URL per account, whatever the sender number subscribed under."""
    sim.add_client("mali-app", "mali-secret")
    mali = bearer_of(
        simulator_support.request_token(f"{sim.url}/oauth/v3/token", ("mali-app", "mali-secret"))
    )
    other = Receiver()
    with running(other):
        other_url = other.url
        assert subscribe(sim, mali, other_url).status_code == 201
        send(sim, mali, sms_body(to="22507000099"))  # the default account has no URL: none
        send(sim, bearer(sim), sms_body(to="22507000098"))
        assert sim.wait_for_receipts(TIMEOUT)
    assert [
        body["deliveryInfoNotification"]["deliveryInfo"]["address"] for _, body in other.posts
    ] == ["tel:+22507000099"]
    assert receiver.posts == []
    [record] = sim.subscriptions()
    assert (record.account, record.sender, record.notify_url, record.active) == (
        "mali-app",
        f"+{SENDER}",
        other_url,
        True,
    )
    listed = requests.get(f"{sim.url}/_sim/subscriptions", timeout=TIMEOUT).json()
    assert [s["subscription_id"] for s in listed] == [record.subscription_id]


def test_a_subscription_belongs_to_its_account_and_sender(sim: OrangeSimulator) -> None:
    sim.add_client("other-app", "other-secret")
    other = bearer_of(
        simulator_support.request_token(f"{sim.url}/oauth/v3/token", ("other-app", "other-secret"))
    )
    headers = bearer(sim)
    created = subscribe(sim, headers, "http://127.0.0.1:1/dr").json()["deliveryReceiptSubscription"]
    subscription_id = created["resourceURL"].rsplit("/", 1)[1]
    path = f"{sim.url}{SUBSCRIBE_PATH}/{subscription_id}"
    other_sender = (
        f"{sim.url}/smsmessaging/v1/outbound/tel%3A%2B2210000/subscriptions/{subscription_id}"
    )

    assert requests.get(created["resourceURL"], headers=other, timeout=TIMEOUT).status_code == 404
    assert requests.delete(path, headers=other, timeout=TIMEOUT).status_code == 404
    assert requests.delete(other_sender, headers=headers, timeout=TIMEOUT).status_code == 404
    assert requests.delete(path, headers=headers, timeout=TIMEOUT).status_code == 204


def test_deleting_a_superseded_subscription_keeps_the_current_url(
    sim: OrangeSimulator, receiver: Receiver
) -> None:
    """CloudFormation registers the new subscription, then deletes the old one."""
    headers = bearer(sim)
    old = subscribe(sim, headers, receiver.url).json()["deliveryReceiptSubscription"]
    subscribe(sim, headers, receiver.url)
    requests.delete(
        f"{sim.url}{SUBSCRIBE_PATH}/{old['resourceURL'].rsplit('/', 1)[1]}",
        headers=headers,
        timeout=TIMEOUT,
    )
    send(sim, headers, sms_body(to="22507000099"))

    assert sim.wait_for_receipts(TIMEOUT)
    assert len(receiver.posts) == 1


def test_an_https_notify_url_is_echoed_with_its_port_as_in_the_seed(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    created = subscribe(sim, headers, "https://gw.example.com/orange/smsdr")
    body = created.json()["deliveryReceiptSubscription"]

    assert body["callbackReference"]["notifyURL"] == "https://gw.example.com:443/orange/smsdr"
    shown = requests.get(body["resourceURL"], headers=headers, timeout=TIMEOUT).json()
    assert shown["deliveryReceiptSubscription"]["callbackReference"]["notifyURL"] == (
        "https://gw.example.com/orange/smsdr"
    )


def test_subscription_errors(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    unknown = f"{sim.url}{SUBSCRIBE_PATH}/{uuid.uuid4()}"

    assert requests.delete(unknown, headers=headers, timeout=TIMEOUT).status_code == 404
    assert subscribe(sim, {}, "http://127.0.0.1:1/dr").status_code == 401
    not_a_url = subscribe(sim, headers, "ftp://example.com/dr")
    assert (not_a_url.status_code, not_a_url.json()) == (400, invalid_field("notifyURL"))


# -- account administration ----------------------------------------------------


def test_contracts_in_the_mea_shape_with_a_country_filter(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    send(sim, headers)

    contracts = admin(sim, headers, "contracts")
    [civ] = admin(sim, headers, "contracts?country=CIV")

    assert sorted(c["country"] for c in contracts) == ["CIV", "CMR", "MLI", "SEN"]
    assert set(civ) == {
        "id",
        "type",
        "developerId",
        "applicationId",
        "country",
        "offerName",
        "availableUnits",
        "requestedUnits",
        "status",
        "expirationDate",
        "creationDate",
        "lastUpdateDate",
    }
    assert (civ["availableUnits"], civ["status"], civ["offerName"]) == (999, "ACTIVE", "SMS_OCB")
    assert civ["expirationDate"].endswith("Z")


@pytest.mark.parametrize("shape", ["mea", "mali"])
def test_the_gateways_admin_client_reads_both_shapes_whole_or_for_one_country(
    make_sim: MakeSim, shape: str
) -> None:
    sim = make_sim(contracts_shape=shape, initial_units={"MLI": 50, "CIV": 5})
    token = request_token(sim).json()["access_token"]
    admin_client = OrangeAdmin(sim.url)

    whole = admin_client.report(token)
    mali = admin_client.report(token, country="MLI")

    assert {c.country: c.units for c in whole.contracts} == {"MLI": 50, "CIV": 5}
    assert [(c.country, c.units) for c in mali.contracts] == [("MLI", 50)]
    assert [(c.country, c.offer) for c in mali.contracts] == [("MLI", "SMS_OCB")]
    # The purchase orders, kept by the snapshot: the bundle that opened each contract.
    [bought] = mali.purchases
    assert (bought.country, bought.offer, bought.currency) == ("MLI", "SMS_OCB", "XOF")
    assert bought.price == "800"  # 50 SMS at the simulator's 16 a unit
    assert bought.purchase_date.endswith("Z")
    assert bought.bundle_description


def test_contracts_in_the_mali_shape(make_sim: MakeSim) -> None:
    sim = make_sim(contracts_shape="mali", initial_units={"MLI": 50, "CIV": 5})
    headers = bearer(sim)

    body = admin(sim, headers, "contracts?country=MLI")

    [contracts] = body["partnerContracts"]["contracts"]
    assert contracts["service"] == "SMS_OCB"
    [mali] = contracts["serviceContracts"]
    assert (mali["country"], mali["service"], mali["availableUnits"]) == ("MLI", "SMS_OCB", 50)
    assert set(mali) == {
        "country",
        "service",
        "contractId",
        "availableUnits",
        "expires",
        "scDescription",
    }
    assert mali["scDescription"].startswith("Mali - 50 SMS valid until before ")


def test_statistics_reflect_sends_and_filter_by_country_and_app(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    for text in ("a", "b"):
        send(sim, headers, sms_body(text=text))

    [service] = admin(sim, headers, "statistics")["partnerStatistics"]["statistics"]
    [country] = service["serviceStatistics"]
    filtered = admin(sim, headers, "statistics?country=SEN")["partnerStatistics"]
    other_app = admin(sim, headers, "statistics?appid=other")["partnerStatistics"]

    assert (service["service"], country["country"]) == ("SMS_OCB", "CIV")
    assert country["countryStatistics"][0]["usage"] == 2
    assert filtered["statistics"] == []
    assert other_app["statistics"] == []


def test_purchase_orders_list_each_contracts_bundle(sim: OrangeSimulator) -> None:
    headers = bearer(sim)

    orders = admin(sim, headers, "purchaseorders")
    [senegal] = admin(sim, headers, "purchaseorders?country=SEN")

    assert len(orders) == 4
    assert (senegal["type"], senegal["oldAvailableUnits"], senegal["newAvailableUnits"]) == (
        "BUNDLE_PURCHASE",
        0,
        1000,
    )
    assert senegal["currency"] == "XOF"


@pytest.mark.parametrize("resource", ["contracts", "statistics", "purchaseorders"])
def test_admin_endpoints_need_a_token(sim: OrangeSimulator, resource: str) -> None:
    response = requests.get(f"{sim.url}/sms/admin/v1/{resource}", timeout=TIMEOUT)

    assert (response.status_code, response.json()["code"]) == (401, 41)


# -- faults --------------------------------------------------------------------


def test_http_500_fault_is_not_a_send(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(http_500=1.0))

    response = send(sim, headers)

    assert (response.status_code, response.json()["code"]) == (500, 1)
    assert sim.sends() == []


def test_http_503_fault_is_orange_s_temporarily_unavailable_and_not_a_send(
    sim: OrangeSimulator,
) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(http_503=1.0))

    response = send(sim, headers)

    assert (response.status_code, response.json()["code"]) == (503, 5)
    assert response.json()["message"] == "Service temporarily unavailable"
    assert sim.sends() == []
    assert sim.faults_injected() == {"http_503": 1}


def test_http_504_fault_answers_without_a_body_after_the_send_happened(
    make_sim: MakeSim, receiver: Receiver
) -> None:
    sim = make_sim(notify_url=receiver.url)
    headers = bearer(sim)
    sim.set_faults(FaultPlan(http_504=1.0))

    response = send(sim, headers)

    assert response.status_code == 504
    assert "json" not in response.headers.get("Content-Type", "")
    [record] = sim.sends()
    assert sim.stats()["sends"] == 1
    assert sim.wait_for_receipts(TIMEOUT)
    assert receiver.statuses(record.resource_id) == ["DeliveredToNetwork", "DeliveredToTerminal"]


def test_http_502_fault_answers_after_the_send_happened_and_is_recorded(
    make_sim: MakeSim, receiver: Receiver
) -> None:
    sim = make_sim(notify_url=receiver.url)
    headers = bearer(sim)
    sim.set_faults(FaultPlan(http_502=1.0))

    response = send(sim, headers)

    assert response.status_code == 502
    assert "json" not in response.headers.get("Content-Type", "")
    [record] = sim.sends()
    assert sim.send_faults() == {record.resource_id: "http_502"}
    assert sim.faults_injected() == {"http_502": 1}
    assert sim.wait_for_receipts(TIMEOUT)
    assert receiver.statuses(record.resource_id) == ["DeliveredToNetwork", "DeliveredToTerminal"]


def test_early_receipts_are_acknowledged_before_the_send_is_answered(
    make_sim: MakeSim, receiver: Receiver
) -> None:
    sim = make_sim(notify_url=receiver.url, receipt_delay=5.0)
    headers = bearer(sim)
    sim.set_faults(FaultPlan(early_receipts=1.0, early_receipts_lead_seconds=0.3))

    response, seconds = timed(lambda: send(sim, headers))

    # Both receipts were acknowledged while the answer waited; nothing is left to push.
    resource_id = response.headers["Location"].rsplit("/", 1)[1]
    assert response.status_code == 201
    assert receiver.statuses(resource_id) == ["DeliveredToNetwork", "DeliveredToTerminal"]
    assert seconds >= 0.3 - SLACK
    assert sim.wait_for_receipts(0)
    assert sim.send_faults() == {resource_id: "early_receipts"}
    assert sim.stats()["receipts_pushed"] == 2


def test_an_outage_refuses_every_call_then_ends(make_sim: MakeSim) -> None:
    sim = make_sim(rate_per_second=1000)
    headers = bearer(sim)
    sim.set_outage(0.5)

    refused = [send(sim, headers), request_token(sim), admin_answer(sim, headers, "contracts")]
    assert requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT).status_code == 200
    time.sleep(0.6)

    assert [(r.status_code, r.json()["code"]) for r in refused] == [(503, 5)] * 3
    assert sim.sends() == []
    assert sim.faults_injected() == {"outage": 3}
    assert send(sim, headers).status_code == 201
    sim.set_outage(5.0)
    sim.set_outage(0)
    assert send(sim, headers).status_code == 201


def admin_answer(sim: OrangeSimulator, headers: dict[str, str], resource: str) -> requests.Response:
    return requests.get(f"{sim.url}/sms/admin/v1/{resource}", headers=headers, timeout=TIMEOUT)


def test_reset_fault_drops_the_connection_without_sending(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(reset=1.0))

    with pytest.raises(requests.ConnectionError):
        send(sim, headers)

    assert sim.sends() == []


def test_timeout_fault_holds_the_answer_but_the_send_happened(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(timeout=1.0, timeout_seconds=3.0))

    with pytest.raises(requests.Timeout):
        send(sim, headers, timeout=0.3)

    assert len(sim.sends()) == 1


def test_rate_burst_fault_answers_code_53(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(rate_burst=1.0))

    response = send(sim, headers)

    assert (response.status_code, response.json()) == (403, TOO_MANY)
    assert sim.stats()["rejected_53"] == 1


def test_faults_are_set_and_cleared_over_http(sim: OrangeSimulator) -> None:
    headers = bearer(sim)
    control = f"{sim.url}/_sim/faults"

    assert requests.post(control, json={"http_500": 1}, timeout=TIMEOUT).status_code == 200
    assert send(sim, headers).status_code == 500
    assert requests.post(control, json={}, timeout=TIMEOUT).status_code == 200
    assert send(sim, headers).status_code == 201


@pytest.mark.parametrize(
    "plan",
    [{"http_500": 2}, {"reset": 0.6, "timeout": 0.6}, {"explode": 1}, {"http_500": "1"}, []],
    ids=["above-one", "sum-above-one", "unknown-key", "not-a-number", "not-an-object"],
)
def test_invalid_fault_plans_are_400(sim: OrangeSimulator, plan: object) -> None:
    response = requests.post(f"{sim.url}/_sim/faults", json=plan, timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.json()["error"]


def test_seeded_faults_replay_identically(make_sim: MakeSim) -> None:
    def run() -> list[int]:
        sim = make_sim(rate_per_second=1000, seed=7)
        headers = bearer(sim)
        sim.set_faults(FaultPlan(http_500=0.5))
        return [send(sim, headers).status_code for _ in range(12)]

    first = run()

    assert first == run()
    assert set(first) == {201, 500}


def test_a_seed_given_with_the_faults_replays_them_and_they_are_counted(
    sim: OrangeSimulator,
) -> None:
    headers = bearer(sim)

    def run() -> list[int]:
        sim.set_faults(FaultPlan(http_500=0.5), seed=11)
        return [send(sim, headers).status_code for _ in range(12)]

    first = run()
    second = run()
    sim.set_faults(None)

    assert first == second
    assert sim.faults_injected() == {"http_500": 2 * first.count(500)}


# -- network -------------------------------------------------------------------

# A timer may wake a hair early, and send records are stamped by the wall clock.
SLACK = 0.002


def timed[T](call: Callable[[], T]) -> tuple[T, float]:
    """What `call` returns, and the seconds it took, as the client sees them."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def wait_for_delayed_calls(sim: OrangeSimulator, calls: int) -> None:
    """Wait until `calls` requests have started their way in."""
    deadline = time.monotonic() + TIMEOUT
    while sim.network_stats()["calls"] < calls:
        assert time.monotonic() < deadline, "no request reached the network"
        time.sleep(0.005)


def test_a_realistic_network_is_60_ms_give_or_take_25_and_1_percent_300_ms_slower() -> None:
    network = NetworkDelay.realistic(seed=1)
    rng = random.Random(network.seed)  # noqa: S311 - delays, not secrets

    draws = [network.draw(rng) for _ in range(20_000)]

    fast = [delay for delay, slow in draws if not slow]
    slow = [delay for delay, slow in draws if slow]
    assert (network.mean_ms, network.jitter_ms, network.slow_extra_ms) == (60, 25, 300)
    assert 35 <= min(fast) < max(fast) <= 85
    assert abs(statistics.fmean(fast) - 60) < 1
    assert all(335 <= delay <= 385 for delay in slow)
    assert 0.005 < len(slow) / len(draws) < 0.015


def test_a_jitter_larger_than_the_mean_never_gives_a_negative_delay() -> None:
    network = NetworkDelay(mean_ms=5, jitter_ms=20)
    rng = random.Random(network.seed)  # noqa: S311 - delays, not secrets

    delays = [network.draw(rng)[0] for _ in range(1000)]

    assert min(delays) == 0.0
    assert max(delays) <= 25


@pytest.mark.parametrize(
    "fields",
    [{"mean_ms": -1}, {"jitter_ms": -1}, {"slow_extra_ms": -1}, {"slow_share": 1.5}],
    ids=["mean", "jitter", "slow-extra", "slow-share"],
)
def test_invalid_networks_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        NetworkDelay(**fields)


def test_a_network_delays_each_call_both_ways(make_sim: MakeSim) -> None:
    sim = make_sim(rate_per_second=1000, network=NetworkDelay(mean_ms=50, jitter_ms=0))

    token, token_seconds = timed(lambda: request_token(sim))
    fired = time.time()
    response, send_seconds = timed(lambda: send(sim, bearer_of(token)))
    answered = time.time()

    assert (token.status_code, response.status_code) == (200, 201)
    # Two one-way delays per call: the way in and the way out.
    assert 0.1 - SLACK <= token_seconds < 1.0
    assert 0.1 - SLACK <= send_seconds < 1.0
    [record] = sim.sends()
    assert record.time - fired >= 0.05 - SLACK  # recorded once it had arrived
    assert answered - record.time >= 0.05 - SLACK  # and answered a trip later
    assert sim.network_stats() == {
        "network": {
            "mean_ms": 50,
            "jitter_ms": 0,
            "slow_share": 0.0,
            "slow_extra_ms": 0.0,
            "seed": 0,
        },
        "calls": 2,
        "delays": 4,
        "slow_delays": 0,
        "total_delay_ms": 200.0,
        "mean_delay_ms": 50.0,
        "min_delay_ms": 50.0,
        "max_delay_ms": 50.0,
    }


def test_jittered_delays_stay_within_bounds_and_replay_with_the_same_seed(
    make_sim: MakeSim,
) -> None:
    def run(seed: int) -> tuple[list[float], Any]:
        sim = make_sim(network=NetworkDelay(mean_ms=20, jitter_ms=15, seed=seed))
        seconds = [timed(lambda: request_token(sim))[1] for _ in range(4)]
        return seconds, sim.network_stats()

    seconds, first = run(seed=5)
    _, replayed = run(seed=5)
    _, other = run(seed=6)

    assert first == replayed
    assert first["delays"] == 8
    assert 5 <= first["min_delay_ms"] < first["max_delay_ms"] <= 35
    assert all(s >= 2 * 0.005 - SLACK for s in seconds)
    assert other["total_delay_ms"] != first["total_delay_ms"]


def test_slow_trips_add_their_extra_delay(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=0, slow_share=1.0, slow_extra_ms=40))

    _, seconds = timed(lambda: request_token(sim))

    assert seconds >= 0.08 - SLACK
    stats = sim.network_stats()
    assert (stats["slow_delays"], stats["total_delay_ms"]) == (2, 80.0)


def test_a_send_is_counted_in_the_rate_window_when_it_arrives(make_sim: MakeSim) -> None:
    sim = make_sim()  # the seeds' 5 SMS per second
    headers = bearer(sim)
    way_in = 0.8

    # The first send fired takes `way_in` to arrive; the five fired after it arrive at once.
    sim.set_network(NetworkDelay(mean_ms=way_in * 1000))
    fired = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        late = pool.submit(send, sim, headers, sms_body(text="fired first"))
        wait_for_delayed_calls(sim, 1)
        sim.set_network(None)
        early = [send(sim, headers, sms_body(text=f"fired next {i}")) for i in range(5)]
        assert time.monotonic() - fired < way_in, "the five sends came too late to test"
        refused = late.result()

    assert [r.status_code for r in early] == [201] * 5
    assert (refused.status_code, refused.json()) == (403, TOO_MANY)
    assert [record.text for record in sim.sends()] == [f"fired next {i}" for i in range(5)]
    assert sim.stats()["rejected_53"] == 1


def test_set_network_none_answers_at_once_again(make_sim: MakeSim) -> None:
    sim = make_sim(rate_per_second=1000, network=NetworkDelay(mean_ms=150))
    _, delayed = timed(lambda: request_token(sim))

    sim.set_network(None)
    headers = bearer(sim)
    response, undelayed = timed(lambda: send(sim, headers))

    assert response.status_code == 201
    assert delayed >= 0.3 - SLACK
    assert undelayed < 0.3  # what the network alone added
    stats = sim.network_stats()
    assert (stats["network"], stats["calls"], stats["delays"]) == (None, 1, 2)


def test_the_control_endpoints_are_never_delayed(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=1000))
    calls: list[Callable[[], requests.Response]] = [
        lambda: requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT),
        lambda: requests.get(f"{sim.url}/_sim/sends", timeout=TIMEOUT),
        lambda: requests.get(f"{sim.url}/_sim/subscriptions", timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/faults", json={}, timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/expire-tokens", timeout=TIMEOUT),
    ]

    for call in calls:
        response, seconds = timed(call)
        assert response.status_code == 200
        assert seconds < 1.0  # a single trip would take 1 s

    assert sim.network_stats()["calls"] == 0


def test_stop_releases_a_request_on_its_way(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=5000))

    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(timed, lambda: request_token(sim))
        wait_for_delayed_calls(sim, 1)
        sim.stop()
        _, seconds = held.result()

    assert seconds < 5.0


# -- errors and the command line -----------------------------------------------


def test_unknown_paths_and_methods_get_orange_errors(sim: OrangeSimulator) -> None:
    missing = requests.get(f"{sim.url}/nowhere", timeout=TIMEOUT)
    wrong_method = requests.get(f"{sim.url}/oauth/v3/token", timeout=TIMEOUT)

    assert (missing.status_code, missing.json()["code"]) == (404, 60)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 61)


def test_command_line_serves_until_sigterm() -> None:
    with command_line("infra.simulators.orange") as (process, port):
        assert wait_for_stats(f"http://127.0.0.1:{port}/_sim/stats")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0


def test_command_line_takes_a_realistic_network() -> None:
    with command_line("infra.simulators.orange", "--network", "realistic") as (process, port):
        url = f"http://127.0.0.1:{port}"
        assert wait_for_stats(f"{url}/_sim/stats")

        _, seconds = timed(
            lambda: simulator_support.request_token(
                f"{url}/oauth/v3/token", ("local-client", "local-secret")
            )
        )

        assert seconds >= 2 * 0.035 - SLACK
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0


def test_command_line_takes_accounts_billed_per_segment() -> None:
    with command_line("infra.simulators.orange", "--segment-billed", "local-client") as (_, port):
        url = f"http://127.0.0.1:{port}"
        assert wait_for_stats(f"{url}/_sim/stats")
        token = simulator_support.request_token(
            f"{url}/oauth/v3/token", ("local-client", "local-secret")
        )
        codes = [
            requests.post(
                f"{url}{SEND_PATH}",
                json=sms_body(text=f"{TWO_PARTS} {i}"),
                headers=bearer_of(token),
                timeout=TIMEOUT,
            ).status_code
            for i in range(3)
        ]

        assert codes == [201, 201, 403]
