"""An SQS batch in lanes: lanes run at the same time, a lane's records in order with one
worker, dealt in turn to several, and the partial batch failures of every lane reported
together."""

import json
import threading
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.aws.lanes import process_in_lanes
from tests.support import FakeLambdaContext

WAIT_SECONDS = 5
CONTEXT = cast("LambdaContext", FakeLambdaContext())


def batch(*bodies: dict[str, str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{n}",
                "receiptHandle": f"h{n}",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for n, body in enumerate(bodies)
        ]
    }


def read(record: dict[str, Any]) -> dict[str, str]:
    return dict(json.loads(record["body"]))


def lane_of(reading: dict[str, str]) -> str:
    return reading["lane"]


def test_lanes_run_at_the_same_time_and_keep_their_order() -> None:
    seen: list[str] = []
    b_started = threading.Event()

    def handle(record: SQSRecord, reading: dict[str, str], lambda_context: Any) -> None:
        body = json.loads(record.body)
        if body["id"] == "a1":
            # Lane a can only go on once lane b has started: in order, this would time out.
            assert b_started.wait(WAIT_SECONDS)
        if body["lane"] == "b":
            b_started.set()
        seen.append(body["id"])

    response = process_in_lanes(
        batch(
            {"lane": "a", "id": "a1"},
            {"lane": "b", "id": "b1"},
            {"lane": "a", "id": "a2"},
            {"lane": "b", "id": "b2"},
        ),
        CONTEXT,
        read=read,
        record_handler=handle,
        lane_of=lane_of,
    )

    assert response == {"batchItemFailures": []}
    assert [i for i in seen if i.startswith("a")] == ["a1", "a2"]
    assert [i for i in seen if i.startswith("b")] == ["b1", "b2"]
    assert seen.index("b1") < seen.index("a1")


def test_two_workers_of_a_lane_take_its_records_in_turn_at_the_same_time() -> None:
    workers: dict[str, str] = {}
    a2_started = threading.Event()

    def handle(record: SQSRecord, reading: dict[str, str], lambda_context: Any) -> None:
        body = json.loads(record.body)
        workers[body["id"]] = threading.current_thread().name
        if body["id"] == "a1":
            # a2 goes to the other worker: it starts while a1 still waits for it.
            assert a2_started.wait(WAIT_SECONDS)
        if body["id"] == "a2":
            a2_started.set()

    response = process_in_lanes(
        batch(*({"lane": "a", "id": f"a{n}"} for n in range(1, 5)), {"lane": "b", "id": "b1"}),
        CONTEXT,
        read=read,
        record_handler=handle,
        lane_of=lane_of,
        workers_per_lane=2,
    )

    assert response == {"batchItemFailures": []}
    assert workers["a1"] == workers["a3"] != workers["a2"] == workers["a4"]


def test_records_with_the_same_key_go_to_the_same_worker_in_order() -> None:
    seen: list[str] = []
    y_started = threading.Event()

    def handle(record: SQSRecord, reading: dict[str, str], lambda_context: Any) -> None:
        body = json.loads(record.body)
        if body["n"] == "0":
            # y is the other worker's: it starts while the first x waits for it.
            assert y_started.wait(WAIT_SECONDS)
        if body["id"] == "y":
            y_started.set()
        seen.append(body["n"])

    process_in_lanes(
        batch(*({"lane": "a", "id": i, "n": str(n)} for n, i in enumerate("xxyx"))),
        CONTEXT,
        read=read,
        record_handler=handle,
        lane_of=lane_of,
        workers_per_lane=2,
        key_of=lambda reading: reading["id"],
    )

    # Every x in one worker, in order, after y went ahead in the other.
    assert seen == ["2", "0", "1", "3"]


@pytest.mark.parametrize("lanes", [["a", "b", "a"], ["a", "a", "a"]])
def test_failures_of_every_lane_are_reported(lanes: list[str]) -> None:
    def handle(record: SQSRecord, reading: dict[str, str], lambda_context: Any) -> None:
        if json.loads(record.body)["id"] != "ok":
            raise RuntimeError("carrier down")

    ids = ["bad", "ok", "bad-too"]
    response = process_in_lanes(
        batch(*({"lane": lane, "id": i} for lane, i in zip(lanes, ids, strict=True))),
        CONTEXT,
        read=read,
        record_handler=handle,
        lane_of=lane_of,
        workers_per_lane=2,
    )

    failed = sorted(str(f["itemIdentifier"]) for f in response["batchItemFailures"])
    assert failed == ["m0", "m2"]


def test_an_empty_batch_has_no_failures() -> None:
    response = process_in_lanes(
        {"Records": []}, CONTEXT, read=read, record_handler=print, lane_of=lane_of
    )
    assert response == {"batchItemFailures": []}


def test_each_record_is_read_once_and_handled_with_its_reading() -> None:
    reads: list[str] = []
    handled: list[tuple[str, str]] = []

    def counting_read(record: dict[str, Any]) -> dict[str, str]:
        reads.append(record["messageId"])
        return read(record)

    def handle(record: SQSRecord, reading: dict[str, str], lambda_context: Any) -> None:
        handled.append((record.message_id, reading["id"]))

    process_in_lanes(
        batch({"lane": "a", "id": "x"}, {"lane": "b", "id": "y"}, {"lane": "a", "id": "z"}),
        CONTEXT,
        read=counting_read,
        record_handler=handle,
        lane_of=lane_of,
        key_of=lambda reading: reading["id"],
        workers_per_lane=2,
    )

    assert sorted(reads) == ["m0", "m1", "m2"]
    assert sorted(handled) == [("m0", "x"), ("m1", "y"), ("m2", "z")]
