"""What operators see: the sender's logs under each message's id, the metrics in the
template's namespace, the alarms and dashboard on metrics the code emits."""

import ast
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from functions.sender import app as sender_app
from gateway.aws.message_store import MessageRepository
from gateway.core.intake import Queued
from gateway.core.send_request import SendRequest
from gateway.core.sending import Admission, Delivery, Prepared, Result
from gateway.core.status import Status
from gateway.observability import logger
from gateway.orange.balance import _country_metric
from gateway.orange.statuses import ORANGE_SMS_NAMES, orange_sms_metric_name
from tests.pipeline import Pipeline, RecordedWakeups
from tests.support import ROOT, TEMPLATE, FakeLambdaContext, LogLines, event

HANDLER_DECORATORS = {
    "logger.inject_lambda_context",
    "tracer.capture_lambda_handler",
    "metrics.log_metrics",
}


def template() -> dict[str, Any]:
    body, errors = decode(str(TEMPLATE))
    assert body is not None, errors
    return dict(body)


def namespace() -> str:
    return str(
        template()["Globals"]["Function"]["Environment"]["Variables"][
            "POWERTOOLS_METRICS_NAMESPACE"
        ]
    )


def emf(output: str) -> list[dict[str, Any]]:
    """The embedded-metric-format documents among a function's stdout lines."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def metric_names(document: dict[str, Any]) -> set[str]:
    return {m["Name"] for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


class Accepting:
    """A channel whose carrier takes every request."""

    def prepare(self, request: SendRequest) -> Prepared[None]:
        return Prepared(
            channel="sms", to="+2250700000001", provider="orange", lane="sms", route=None
        )

    def send(self, prepared: Prepared[None], max_wait: float) -> str:
        return "r"


@pytest.mark.usefixtures("aws")
def test_the_intake_logs_each_record_under_its_message_id_and_measures_queue_age(
    monkeypatch: pytest.MonkeyPatch, log_lines: LogLines, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = Pipeline(store=MessageRepository("messages"), channels={"sms": Accepting()})
    monkeypatch.setattr(sender_app, "sender", lambda: pipeline.sender)
    monkeypatch.setattr(sender_app, "intake", lambda: pipeline.intake)
    monkeypatch.setattr(sender_app, "dispatch_queue", lambda: pipeline.wakeups)
    sample = event("sqs_send_batch.json")  # order-42 (valid), then bad-1 (an unknown field)
    queued_at = int(time.time() * 1000) - 1500
    for record in sample["Records"]:
        record["attributes"]["SentTimestamp"] = str(queued_at)

    assert sender_app.handler(sample, FakeLambdaContext()) == {"batchItemFailures": []}

    by_message = {line["message"]: line for line in log_lines()}
    assert by_message["message queued"]["correlation_id"] == "order-42"
    assert by_message["invalid send request"]["correlation_id"] == "bad-1"
    assert "+2250700000001" not in json.dumps(log_lines())
    [document] = emf(capsys.readouterr().out)
    assert {d["Namespace"] for d in document["_aws"]["CloudWatchMetrics"]} == {namespace()}
    assert metric_names(document) >= {"QueueAgeMs", "Queued", "InvalidRequests"}
    assert document["service"] == "tests"  # powertools' service dimension
    assert len(document["QueueAgeMs"]) == 2
    assert min(document["QueueAgeMs"]) >= 1500


def test_a_record_without_an_id_does_not_log_under_the_previous_records_id(
    monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    class Sets:
        """Sets the correlation id as the sender does, when the request names one."""

        def admit(self, body: str, fallback_id: str) -> Admission:
            return Admission(fallback_id, "one")

        def receive(self, delivery: Delivery, admission: Admission) -> Queued:
            request = json.loads(delivery.body)
            if "id" in request:
                logger.thread_safe_append_keys(correlation_id=request["id"])
            logger.info("processed")
            return Queued(Result.QUEUED)

    monkeypatch.setattr(sender_app, "sender", Sets)
    monkeypatch.setattr(sender_app, "intake", Sets)
    monkeypatch.setattr(sender_app, "dispatch_queue", RecordedWakeups)
    sample = event("sqs_send_batch.json")
    sample["Records"][1]["body"] = "{}"

    sender_app.handler(sample, FakeLambdaContext())

    assert [line.get("correlation_id") for line in log_lines()] == ["order-42", None]


@pytest.mark.parametrize(
    "app", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name
)
def test_every_function_logs_traces_and_flushes_metrics(app: Path) -> None:
    tree = ast.parse(app.read_text())
    [handler] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler"]
    decorators = {
        ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in handler.decorator_list
    }
    assert decorators >= HANDLER_DECORATORS


def test_country_metrics_carry_the_service_dimension_the_dashboard_searches_by(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _country_metric("AvailableUnits", 42, "CIV")

    [document] = emf(capsys.readouterr().out)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == namespace()
    assert sorted(directive["Dimensions"][0]) == ["country", "service"]
    searches = [e for e in dashboard_expressions() if "AvailableUnits" in e or "DaysToExpiry" in e]
    assert len(searches) == 2
    assert all(f"{{{namespace()},country,service}}" in e for e in searches)


def test_alarms_query_balance_metrics_with_metrics_insights_not_search() -> None:
    # CloudWatch refuses SEARCH in an alarm; Metrics Insights takes every country's series.
    alarms = {
        name: resource["Properties"]
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    expressions = {
        name: query["Expression"]
        for name, properties in alarms.items()
        for query in properties.get("Metrics", [])
        if "Expression" in query
    }
    assert namespace() == "CarrierGateway"
    assert not [e for e in expressions.values() if "SEARCH(" in e]
    balance = {n: e for n, e in expressions.items() if "Units" in e or "Expiry" in e}
    assert balance == {
        "LowUnitsAlarm": "SELECT MIN(AvailableUnits) FROM CarrierGateway",
        "ContractExpiryAlarm": "SELECT MIN(DaysToExpiry) FROM CarrierGateway",
    }


# -- the dashboard ------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    resources = template()["Resources"]
    [body] = [
        r["Properties"]["DashboardBody"]["Fn::Sub"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    # ${Logical.Attribute} and ${AWS::Region} become their names: the body must be JSON.
    return dict(json.loads(re.sub(r"\$\{([^}!]+)\}", r"\1", body)))


def dashboard_metrics() -> Iterator[list[Any]]:
    for widget in dashboard()["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if isinstance(metric[0], str):
                yield metric


def dashboard_expressions() -> list[str]:
    return [
        metric[0]["expression"]
        for widget in dashboard()["widgets"]
        for metric in widget["properties"].get("metrics", [])
        if isinstance(metric[0], dict)
    ]


def emitted_metric_names() -> set[str]:
    """Metric names in the code: literal names, the sender's results, and the names built
    from a status (Status_{status}, Receipt_{Orange deliveryStatus} or Receipt_Other)."""
    sources = [*(ROOT / "layers/common/gateway").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    text = "\n".join(path.read_text() for path in sources)
    literal = set(re.findall(r'add_metric\(\s*name="(\w+)"', text))
    literal |= set(re.findall(r'_country_metric\("(\w+)"', text))
    assert "name=str(result).capitalize()" in text
    results = {str(result).capitalize() for result in Result}
    statuses = {f"Status_{status}" for status in Status}
    assert "name=orange_sms_metric_name(" in text
    receipts = {orange_sms_metric_name(name) for name in [*ORANGE_SMS_NAMES.values(), "?"]}
    return literal | results | statuses | receipts


def test_the_dashboard_shows_metrics_the_code_emits_under_its_services() -> None:
    services = {
        r["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    emitted = emitted_metric_names()
    ours = [m for m in dashboard_metrics() if m[0] == namespace()]
    assert {m[1] for m in ours} <= emitted
    assert {m[3] for m in ours if m[2] == "service"} <= services
    assert all(m[2] == "service" for m in ours)  # powertools adds it to every metric
    searched = {n for e in dashboard_expressions() for n in re.findall(r'MetricName=\\?"(\w+)', e)}
    assert searched <= emitted
    shown = {m[1] for m in ours} | searched
    for required in (
        "Sent",
        "Rejected",
        "Failed",
        "Unknown",
        "ThrottledWaitMs",
        "CarrierThrottled",
        "TokenRefreshes",
        "TokenRefreshFailures",
        "InboundReceived",
        "QueueAgeMs",
        "AvailableUnits",
        "DaysToExpiry",
        "Receipt_DeliveredToTerminal",
    ):
        assert required in shown


def test_the_dashboard_has_every_functions_errors_throttles_and_duration() -> None:
    functions = {
        name
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    lambda_metrics = [m for m in dashboard_metrics() if m[0] == "AWS/Lambda"]
    for metric_name in ("Errors", "Throttles", "Duration"):
        shown = {m[3] for m in lambda_metrics if m[1] == metric_name}
        assert shown == functions, f"OperationsDashboard's Lambda {metric_name} lines"


def test_the_dashboard_shows_the_send_queue_and_the_dead_letter_queue() -> None:
    sqs = {(m[1], m[3]) for m in dashboard_metrics() if m[0] == "AWS/SQS"}
    assert ("ApproximateAgeOfOldestMessage", "SendQueue.QueueName") in sqs
    assert ("ApproximateNumberOfMessagesVisible", "SendQueue.QueueName") in sqs
    assert ("ApproximateNumberOfMessagesVisible", "SendDeadLetterQueue.QueueName") in sqs
    url = template()["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert url.endswith("#dashboards:name=${OperationsDashboard}")
