"""An SQS batch in lanes: lanes run at the same time, a lane's records in order, and the
partial batch failures of every lane reported together."""

import json
import threading
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.lanes import process_in_lanes
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


def lane_of(body: str) -> str:
    return str(json.loads(body)["lane"])


def test_lanes_run_at_the_same_time_and_keep_their_order() -> None:
    seen: list[str] = []
    b_started = threading.Event()

    def handle(record: SQSRecord, lambda_context: Any) -> None:
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
        record_handler=handle,
        lane_of=lane_of,
    )

    assert response == {"batchItemFailures": []}
    assert [i for i in seen if i.startswith("a")] == ["a1", "a2"]
    assert [i for i in seen if i.startswith("b")] == ["b1", "b2"]
    assert seen.index("b1") < seen.index("a1")


@pytest.mark.parametrize("lanes", [["a", "b", "a"], ["a", "a", "a"]])
def test_failures_of_every_lane_are_reported(lanes: list[str]) -> None:
    def handle(record: SQSRecord, lambda_context: Any) -> None:
        if json.loads(record.body)["id"] != "ok":
            raise RuntimeError("carrier down")

    ids = ["bad", "ok", "bad-too"]
    response = process_in_lanes(
        batch(*({"lane": lane, "id": i} for lane, i in zip(lanes, ids, strict=True))),
        CONTEXT,
        record_handler=handle,
        lane_of=lane_of,
    )

    failed = sorted(str(f["itemIdentifier"]) for f in response["batchItemFailures"])
    assert failed == ["m0", "m2"]


def test_an_empty_batch_has_no_failures() -> None:
    response = process_in_lanes({"Records": []}, CONTEXT, record_handler=print, lane_of=lane_of)
    assert response == {"batchItemFailures": []}
