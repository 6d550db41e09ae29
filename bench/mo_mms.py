"""AWS requests per mobile-originated MMS (MM7 DeliverReq), on the local stack.

DeliverReqs as the MMSC simulator writes them (the deliver seed's picture and text) are
posted through the API front to the MM7 function with the callback's credentials, one at a
time, each from its own sender so that each is a new MO; each is answered once its parts are
in S3, its record in DynamoDB and its event on the bus. moto's request recorder counts the
requests by service and operation meanwhile (DynamoDB's write units worked out from the
items written), and the MM7 function's log gives its invocations, their duration and the
bytes logged. The stack runs its scheduled functions at their AWS intervals, so none runs
during the count; the send queue's poller (the local stack's, not a function) is left out.
"""

import logging
import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import requests

from bench.capacity import recorded_write_units
from bench.local import local_stack
from bench.recording import LogWatch, MotoRecording, of_service, per_message
from gateway.mm7.model import DEFAULT_NAMESPACE, DEFAULT_VERSION
from infra.local.stack import LocalStack
from infra.simulators._mm7_wire import MoMessage, deliver_request, read_answer
from infra.simulators.mmsc import DEFAULT_PARTS, DEFAULT_SHORT_CODE, UA_PROF

FUNCTION = "Mm7Function"
WARM_UP = 2  # the function's first invocation reads its credentials and builds its clients
WARM_UP_ATTEMPTS = 5
POLLER_SERVICE = "SQS"
ACCEPTED = 1000  # MM7 StatusCode: success
POST_TIMEOUT_SECONDS = 60

logger = logging.getLogger(__name__)


def run(quick: bool = False) -> dict[str, Any]:
    count = 5 if quick else 20
    with local_stack("bench-mo-mms", schedule_speedup=1) as stack:
        _warm_up(stack)
        logger.info("MO MMS: %d DeliverReqs", count)
        with (
            MotoRecording(stack.clients.endpoint_url) as recording,
            LogWatch(stack.logs_dir) as logs,
        ):
            _deliver(stack, count, first_sender=0)
    operations = [op for op in recording.operations() if not op.startswith(f"{POLLER_SERVICE}.")]
    dynamodb = of_service(operations, "DynamoDB")
    usage = logs.usage[FUNCTION]
    return {
        "mo": count,
        "parts_per_mo": len(DEFAULT_PARTS),
        "part_bytes_per_mo": sum(len(part.data) for part in DEFAULT_PARTS),
        "dynamodb_total": round(dynamodb.total() / count, 2),
        "dynamodb_write_units": round(recorded_write_units(recording.entries) / count, 2),
        "s3_put_object": round(operations.count("S3.PutObject") / count, 2),
        "eventbridge_put_events": round(operations.count("EventBridge.PutEvents") / count, 2),
        "by_operation": per_message(Counter(operations), count),
        "invocations": round(usage.invocations / count, 2),
        "median_duration_ms": round(statistics.median(usage.duration_ms), 1),
        "log_bytes": round(usage.bytes / count),
    }


class DeliverFailed(RuntimeError):
    """The gateway did not answer a DeliverReq with 200 and StatusCode 1000."""


def _warm_up(stack: LocalStack) -> None:
    """A few MOs until they go through: on a busy machine the function's first worker may
    outlive Lambda's 10 s init limit (all functions start at once), and is then replaced."""
    for attempt in range(WARM_UP_ATTEMPTS):
        try:
            _deliver(stack, WARM_UP, first_sender=9000 + WARM_UP * attempt)
        except DeliverFailed:
            logger.warning("MO MMS warm-up failed, again", exc_info=True)
        else:
            return
    raise DeliverFailed(f"no MO went through in {WARM_UP_ATTEMPTS} warm-ups")


def _deliver(stack: LocalStack, count: int, first_sender: int) -> None:
    """Post DeliverReqs as the simulator would, with a timeout a cold, busy stack can meet
    (the simulator's own push gives up after 2 s, as an MMSC that retries may)."""
    endpoints = stack.endpoints
    for index in range(first_sender, first_sender + count):
        message = MoMessage(
            sender=f"1212555{index:04d}",
            recipient=DEFAULT_SHORT_CODE,
            subject=f"bench {index}",
            parts=DEFAULT_PARTS,
            timestamp=datetime.now(UTC),
            ua_prof=UA_PROF,
        )
        content_type, body = deliver_request(
            message, namespace=DEFAULT_NAMESPACE, version=DEFAULT_VERSION, transaction_id=str(index)
        )
        response = requests.post(
            endpoints["mm7_url"],
            data=body,
            headers={"Content-Type": content_type, "SOAPAction": '""'},
            auth=(endpoints["mm7_username"], endpoints["mm7_password"]),
            timeout=POST_TIMEOUT_SECONDS,
        )
        if response.status_code != 200:
            raise DeliverFailed(f"HTTP {response.status_code} {response.text[:500]}")
        answer = read_answer(response.headers.get("Content-Type"), response.content)
        if answer.status_code != ACCEPTED:
            raise DeliverFailed(f"not accepted: {answer}")
