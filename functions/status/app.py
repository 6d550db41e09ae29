"""The messages API: `POST /messages` -> one send request or `{"messages": [...]}` recorded at
once (202 each accepted, 400 each refused with the reason); `GET /messages?to=&campaign=&...`
-> a page of the messages found, newest first, and the cursor to the next (400 with the
reason for a bad query); `GET /messages/{id}` -> one message's state and history (404 when
unknown); `DELETE /messages/{id}` -> cancels it when it was not handed to the carrier yet (409
with its status otherwise)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.core.cancelling import Cancel
from gateway.core.intake import Wakes
from gateway.core.model import utc_text
from gateway.core.search import SearchRefused, parse_search, summary
from gateway.core.submission import SubmissionRefused, Submitted
from gateway.observability import logger, metrics, tracer
from gateway.wiring import canceller, dispatch_queue, repository, submissions

app = APIGatewayHttpResolver()
# Each outcome's HTTP status; a batch of mixed outcomes answers 207 with each one's.
HTTP_STATUS = {"accepted": 202, "cancelled": 202, "refused": 400, "error": 503}
CONFLICT = {
    Cancel.IN_FLIGHT: "being handed to the carrier: it ends as its send ends",
    Cancel.TOO_LATE: "already handed to the carrier, or ended",
}


@app.post("/messages")
def submit() -> Response[dict[str, Any]]:
    event = app.current_event
    context = event.request_context
    wakes = Wakes()
    try:
        submission = submissions().submit(
            event.decoded_body or "",
            arrived_at=utc_text(datetime.fromtimestamp(context.time_epoch / 1000, UTC)),
            request_id=context.request_id,
            wakes=wakes,
        )
    except SubmissionRefused as error:
        return Response(400, content_types.APPLICATION_JSON, {"error": str(error)})
    dispatch_queue().wake_all(wakes)
    base = _api_base(event.raw_path)
    views = [_view(result, base, submission.batch) for result in submission.results]
    statuses = {HTTP_STATUS[result.outcome] for result in submission.results}
    status = statuses.pop() if len(statuses) == 1 else 207
    body = {"messages": views} if submission.batch else views[0]
    return Response(status, content_types.APPLICATION_JSON, body)


def _api_base(raw_path: str) -> str:
    """The API's URL, from this request's: the stage prefix (if any) is what precedes the
    route's path."""
    host = app.current_event.request_context.domain_name
    scheme = app.current_event.headers.get("X-Forwarded-Proto", "https")
    return f"{scheme}://{host}{raw_path.removesuffix('/messages')}"


def _view(result: Submitted, base: str, batch: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"index": result.index} if batch else {}
    if result.id is not None:
        view["id"] = result.id
    view["status"] = result.outcome
    if result.outcome in ("accepted", "cancelled"):
        view["statusUrl"] = f"{base}/messages/{result.id}"
    if result.duplicate:
        view["duplicate"] = True
    if result.reason is not None:
        view["error"] = result.reason
    return view


@app.get("/messages")
def search_messages() -> Response[dict[str, Any]]:
    try:
        search, resume = parse_search(
            app.current_event.query_string_parameters or {}, now=datetime.now(UTC)
        )
    except SearchRefused as error:
        return Response(400, content_types.APPLICATION_JSON, {"error": str(error)})
    page = search.page(repository(), resume)
    body = {
        "messages": [summary(message) for message in page.messages],
        "cursor": page.resume.cursor() if page.resume else None,
    }
    return Response(200, content_types.APPLICATION_JSON, body)


@app.get("/messages/<message_id>")
def get_message(message_id: str) -> dict[str, Any]:
    message = repository().get(message_id)
    if message is None:
        raise NotFoundError(f"no message with id {message_id!r}")
    return message.public_view()


@app.delete("/messages/<message_id>")
def cancel_message(message_id: str) -> Response[dict[str, Any]]:
    result = canceller().cancel(message_id)
    if result.outcome is Cancel.NOT_FOUND or result.message is None:
        raise NotFoundError(f"no message with id {message_id!r}")
    view = {"id": message_id, "status": str(result.message.status)}
    if result.outcome is Cancel.CANCELLED:
        return Response(200, content_types.APPLICATION_JSON, view)
    return Response(
        409, content_types.APPLICATION_JSON, {**view, "reason": CONFLICT[result.outcome]}
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
