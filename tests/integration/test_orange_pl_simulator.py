"""The Orange Poland MMSDeliveryStatus simulator over real HTTP on loopback."""

import calendar
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from gateway.orange_pl.client import OrangePlClient
from infra.simulators.orange_pl import FaultPlan, NetworkDelay, OrangePlSimulator
from tests.integration import simulator_support
from tests.integration.simulator_support import (
    TIMEOUT,
    TOO_MANY,
    WITHOUT_A_VALID_BEARER,
    bearer_of,
    command_line,
    simulators,
    wait_for_stats,
)

pytestmark = pytest.mark.integration

STATUS_PATH = "/Messaging/v1/MMSDeliveryStatus"
# The seed's bodies, exactly.
INVALID = {
    "code": 41,
    "message": "Invalid credentials",
    "description": "The requested service needs credentials, but the ones provided were invalid.",
}

MakeSim = Callable[..., OrangePlSimulator]


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    with simulators(OrangePlSimulator) as make:
        yield make


@pytest.fixture
def sim(make_sim: MakeSim) -> OrangePlSimulator:
    return make_sim()


def request_token(sim: OrangePlSimulator, version: str = "v2", **kwargs: Any) -> requests.Response:
    url = f"{sim.url}/oauth/{version}/token"
    return simulator_support.request_token(url, ("local-pl-client", "local-pl-secret"), **kwargs)


def bearer(sim: OrangePlSimulator) -> dict[str, str]:
    return bearer_of(request_token(sim))


def status_call(
    sim: OrangePlSimulator,
    headers: dict[str, str],
    message_id: str | None = "b413dd22-5e5c-4304-a891-fb4c821810ea",
    timeout: float = TIMEOUT,
) -> requests.Response:
    params = None if message_id is None else {"id": message_id}
    return requests.get(f"{sim.url}{STATUS_PATH}", params=params, headers=headers, timeout=timeout)


def statuses(
    sim: OrangePlSimulator, headers: dict[str, str], message_id: str, polls: int
) -> list[str]:
    return [status_call(sim, headers, message_id).json()["status"] for _ in range(polls)]


def limit(sim: OrangePlSimulator, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{sim.url}{STATUS_PATH}/limit", headers=headers, timeout=TIMEOUT)


# -- OAuth ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_token_as_orange_answers_it(sim: OrangePlSimulator, version: str) -> None:
    response = request_token(sim, version)

    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", "3600")
    assert len(body["access_token"]) >= 20
    assert sim.stats()["token_requests"] == 1


def test_token_lifetime_is_configurable(make_sim: MakeSim) -> None:
    assert request_token(make_sim(token_lifetime=120)).json()["expires_in"] == "120"


@pytest.mark.parametrize(
    ("auth", "data", "status", "error"),
    [
        (None, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (("local-pl-client", "wrong"), {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            ("local-pl-client", "local-pl-secret"),
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
        ),
    ],
    ids=["no-credentials", "wrong-secret", "wrong-grant"],
)
def test_token_refusals(
    sim: OrangePlSimulator,
    auth: tuple[str, str] | None,
    data: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = request_token(sim, auth=auth, data=data)

    assert (response.status_code, response.json()["error"]) == (status, error)


# -- bearer tokens -------------------------------------------------------------


@WITHOUT_A_VALID_BEARER
def test_calls_without_a_valid_token_get_the_seeds_401(
    sim: OrangePlSimulator, headers: dict[str, str]
) -> None:
    status = status_call(sim, headers)
    limit_check = limit(sim, headers)

    assert (status.status_code, status.json()) == (401, INVALID)
    assert (limit_check.status_code, limit_check.json()) == (401, INVALID)
    assert sim.stats()["rejected_401"] == 2
    assert sim.stats()["status_calls"] == 0


def test_expired_tokens_get_code_42_and_a_new_token_works(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)

    expired = requests.post(f"{sim.url}/_sim/expire-tokens", timeout=TIMEOUT)

    assert expired.json() == {"expired": 1}
    refused = status_call(sim, headers)
    assert refused.status_code == 401
    assert (refused.json()["code"], refused.json()["message"]) == (42, "Expired credentials")
    assert status_call(sim, bearer(sim)).status_code == 200


def test_token_expires_after_its_lifetime(make_sim: MakeSim) -> None:
    sim = make_sim(token_lifetime=1)
    headers = bearer(sim)
    assert status_call(sim, headers).status_code == 200

    time.sleep(1.3)

    assert status_call(sim, headers).json()["code"] == 42


# -- statuses ------------------------------------------------------------------


def test_a_registered_message_goes_success_then_retrieved(sim: OrangePlSimulator) -> None:
    message_id = "b413dd22-5e5c-4304-a891-fb4c821810ea"
    sim.register(message_id)

    assert statuses(sim, bearer(sim), message_id, 3) == ["Success", "Retrieved", "Retrieved"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("rejected-", ["Success", "Rejected", "Rejected"]),
        ("expired-", ["Success", "Expired", "Expired"]),
        ("indeterminate-", ["Success", "Indeterminate", "Indeterminate"]),
        ("server-error-", ["Server Error", "Retrieved", "Retrieved"]),
        ("client-error-", ["Client error", "Client error", "Client error"]),
        ("retrieved-", ["Success", "Retrieved", "Retrieved"]),
    ],
)
def test_id_prefixes_choose_scripts_without_registration(
    sim: OrangePlSimulator, prefix: str, expected: list[str]
) -> None:
    assert statuses(sim, bearer(sim), f"{prefix}0001", 3) == expected


def test_an_unknown_id_is_not_found_and_a_missing_one_a_client_error(
    sim: OrangePlSimulator,
) -> None:
    headers = bearer(sim)

    unknown = status_call(sim, headers, "b413dd22-0000-0000-0000-000000000000")
    missing = status_call(sim, headers, None)

    assert (unknown.status_code, unknown.json()) == (200, {"status": "Message ID Not found"})
    assert (missing.status_code, missing.json()) == (200, {"status": "Client error"})


def test_scripts_are_registered_over_http(sim: OrangePlSimulator) -> None:
    script = ["Partial success", "Server Error", "Retrieved"]

    created = requests.post(
        f"{sim.url}/_sim/messages", json={"id": "m-1", "script": script}, timeout=TIMEOUT
    )
    by_prefix = requests.post(f"{sim.url}/_sim/messages", json={"id": "expired-7"}, timeout=TIMEOUT)

    assert (created.status_code, created.json()) == (201, {"id": "m-1", "script": script})
    assert by_prefix.json()["script"] == ["Success", "Expired"]
    assert statuses(sim, bearer(sim), "m-1", 4) == [*script, "Retrieved"]


def test_registering_again_restarts_the_script(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    sim.register("m-2")
    statuses(sim, headers, "m-2", 2)

    sim.register("m-2", ["Address Error"])

    assert statuses(sim, headers, "m-2", 1) == ["Address Error"]


@pytest.mark.parametrize(
    "body",
    [
        {"id": "m", "script": ["Delivered"]},
        {"id": "m", "script": []},
        {"id": "", "script": ["Success"]},
        {"id": 7},
        {"id": "m", "script": "Success"},
        ["m"],
    ],
    ids=["unknown-status", "empty-script", "empty-id", "id-not-string", "script-not-list", "list"],
)
def test_invalid_registrations_are_400(sim: OrangePlSimulator, body: Any) -> None:
    response = requests.post(f"{sim.url}/_sim/messages", json=body, timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.json()["error"]


# -- call limit ----------------------------------------------------------------


def last_day_of_this_month() -> str:
    today = datetime.now(UTC).date()
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return f"{last:%a %b %d %Y}"


def test_the_limit_is_counted_then_refused_with_code_53(make_sim: MakeSim) -> None:
    sim = make_sim(limit=3)
    headers = bearer(sim)

    answers = [status_call(sim, headers) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 403]
    assert answers[3].json() == TOO_MANY
    assert limit(sim, headers).json() == {
        "available": "0",
        "date": last_day_of_this_month(),
        "used": "3",
    }
    assert sim.stats()["rejected_53"] == 1


def test_limit_shape_and_reset(make_sim: MakeSim) -> None:
    sim = make_sim(limit=5)
    headers = bearer(sim)
    status_call(sim, headers)

    before = limit(sim, headers)
    reset = requests.post(f"{sim.url}/_sim/reset-limit", timeout=TIMEOUT)
    after = limit(sim, headers).json()

    assert before.status_code == 200
    body = before.json()
    assert (body["available"], body["used"]) == ("4", "1")
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{2} \d{4}", body["date"])
    assert reset.json() == {"used": 1}
    assert (after["available"], after["used"]) == ("5", "0")
    assert sim.stats()["limit_calls"] == 2


def test_the_gateways_client_reads_the_reset_date_as_the_end_of_that_day(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(limit=5)
    token = request_token(sim).json()["access_token"]

    answer = OrangePlClient(sim.url).call_limit(token)

    today = datetime.now(UTC).date()
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    assert (answer.used, answer.available) == (0, 5)
    assert answer.resets == datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(
        days=1
    )


def test_unlimited_still_counts_calls(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    for _ in range(3):
        status_call(sim, headers)

    body = limit(sim, headers).json()

    assert (body["available"], body["used"]) == ("unlimited", "3")
    assert list(body) == ["available", "date", "used"]


def test_refused_calls_are_not_counted(make_sim: MakeSim) -> None:
    sim = make_sim(limit=10)
    headers = bearer(sim)
    status_call(sim, {})
    sim.set_faults(FaultPlan(http_500=1.0))
    status_call(sim, headers)
    sim.set_faults()

    assert limit(sim, headers).json()["used"] == "0"


# -- faults --------------------------------------------------------------------


def test_http_500_fault(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(http_500=1.0))

    response = status_call(sim, headers)

    assert (response.status_code, response.json()["code"]) == (500, 1)
    assert sim.stats()["faults_injected"] == 1


def test_http_503_fault_is_code_5(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(http_503=1.0))

    response = status_call(sim, headers)

    assert (response.status_code, response.json()["code"]) == (503, 5)
    assert sim.faults_injected() == {"http_503": 1}


def test_http_504_fault_answers_without_a_body(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(http_504=1.0))

    response = status_call(sim, headers)

    assert response.status_code == 504
    assert "json" not in response.headers.get("Content-Type", "")
    assert sim.faults_injected() == {"http_504": 1}


@pytest.mark.parametrize("plan", [FaultPlan(http_503=1.0), FaultPlan(http_504=1.0)])
def test_http_503_and_504_faults_neither_poll_nor_count(
    sim: OrangePlSimulator, plan: FaultPlan
) -> None:
    headers = bearer(sim)
    sim.register("m-4")
    sim.set_faults(plan)
    status_call(sim, headers, "m-4")
    sim.set_faults()

    assert statuses(sim, headers, "m-4", 1) == ["Success"]
    assert limit(sim, headers).json()["used"] == "1"


def test_reset_fault_drops_the_connection(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(reset=1.0))

    with pytest.raises(requests.ConnectionError):
        status_call(sim, headers)


def test_timeout_fault_holds_the_answer_but_the_poll_happened(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    sim.register("m-3")
    sim.set_faults(FaultPlan(timeout=1.0, timeout_seconds=3.0))

    with pytest.raises(requests.Timeout):
        status_call(sim, headers, "m-3", timeout=0.3)
    sim.set_faults()

    assert statuses(sim, headers, "m-3", 1) == ["Retrieved"]


def test_rate_burst_fault_is_code_53(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    sim.set_faults(FaultPlan(rate_burst=1.0))

    response = status_call(sim, headers)

    assert (response.status_code, response.json()) == (403, TOO_MANY)


def test_faults_are_set_and_cleared_over_http(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    control = f"{sim.url}/_sim/faults"

    assert requests.post(control, json={"http_500": 1}, timeout=TIMEOUT).status_code == 200
    assert status_call(sim, headers).status_code == 500
    assert requests.post(control, json={}, timeout=TIMEOUT).status_code == 200
    assert status_call(sim, headers).status_code == 200
    assert requests.post(control, json={"reset": "1"}, timeout=TIMEOUT).status_code == 400


def test_stats_over_http(sim: OrangePlSimulator) -> None:
    headers = bearer(sim)
    status_call(sim, headers)

    stats = requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT).json()

    assert stats == {
        "token_requests": 1,
        "status_calls": 1,
        "limit_calls": 0,
        "rejected_401": 0,
        "rejected_53": 0,
        "faults_injected": 0,
    }


# -- network -------------------------------------------------------------------

# A timer may wake a hair early.
SLACK = 0.002


def timed[T](call: Callable[[], T]) -> tuple[T, float]:
    """What `call` returns, and the seconds it took, as the client sees them."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_network_delays_the_token_and_status_calls_both_ways(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=50, jitter_ms=0))

    token, token_seconds = timed(lambda: request_token(sim))
    status, status_seconds = timed(lambda: status_call(sim, bearer_of(token), "retrieved-1"))

    assert (token.status_code, status.json()) == (200, {"status": "Success"})
    # Two one-way delays per call: the way in and the way out.
    assert 0.1 - SLACK <= token_seconds < 1.0
    assert 0.1 - SLACK <= status_seconds < 1.0
    stats = sim.network_stats()
    assert (stats["calls"], stats["delays"], stats["mean_delay_ms"]) == (2, 4, 50.0)


def test_set_network_none_answers_at_once_again(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=150))
    headers = bearer(sim)

    sim.set_network(None)
    response, seconds = timed(lambda: status_call(sim, headers))

    assert response.status_code == 200
    assert seconds < 0.3  # what the network alone added
    stats = sim.network_stats()
    assert (stats["network"], stats["calls"], stats["delays"]) == (None, 1, 2)


def test_the_control_endpoints_are_never_delayed(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=1000))
    calls: list[Callable[[], requests.Response]] = [
        lambda: requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/messages", json={"id": "m-1"}, timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/faults", json={}, timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/expire-tokens", timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/reset-limit", timeout=TIMEOUT),
    ]

    for call in calls:
        response, seconds = timed(call)
        assert response.status_code in (200, 201)
        assert seconds < 1.0  # a single trip would take 1 s

    assert sim.network_stats()["calls"] == 0


# -- errors and the command line -----------------------------------------------


def test_unknown_paths_and_methods_get_orange_errors(sim: OrangePlSimulator) -> None:
    missing = requests.get(f"{sim.url}/Messaging/v1/MMSSDeliveryStatus/limit", timeout=TIMEOUT)
    wrong_method = requests.post(f"{sim.url}{STATUS_PATH}", timeout=TIMEOUT)

    assert (missing.status_code, missing.json()["code"]) == (404, 60)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 61)


def test_command_line_serves_until_sigterm() -> None:
    with command_line("infra.simulators.orange_pl", "--limit", "5") as (process, port):
        assert wait_for_stats(f"http://127.0.0.1:{port}/_sim/stats")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
