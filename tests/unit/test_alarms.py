"""The alarms that matter (issue #16): each on the AlarmTopic, on a metric the code emits
under the dimensions it emits it with, with its threshold a parameter where it has one, and on
the dashboard; and the per-priority lane wait the dispatcher publishes for them."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from gateway.core.model import utc_now
from gateway.core.send_request import PRIORITIES
from gateway.core.sending import Result
from gateway.observability import metrics
from tests.fakes import MemoryMessageStore
from tests.pipeline import Pipeline
from tests.unit.test_dispatching import LANE, Recording, sms
from tests.unit.test_observability import dashboard, emf, emitted_metric_names, template

# The alarms issue #16 asks for, and the parameter holding each one's threshold (None: fixed).
ALARMS = {
    "SendQueueAgeAlarm": "SendQueueAgeAlarmSeconds",
    "HighPriorityWaitAlarm": "HighPriorityWaitAlarmSeconds",
    "NormalPriorityWaitAlarm": "NormalPriorityWaitAlarmSeconds",
    "BulkPriorityWaitAlarm": "BulkPriorityWaitAlarmSeconds",
    "TokenRefreshFailuresAlarm": None,
    "ReceiptStorageErrorsAlarm": None,
    "DeliveredRatioAlarm": "DeliveredRatioThreshold",
}
# The dimensions each metric is emitted with: powertools' `service` on all of them, and the
# dispatcher's lane wait also under its priority (gateway.core.dispatching._publish_waits).
DIMENSIONS = {"DispatchWaitMs": {"priority", "service"}}


def resources() -> dict[str, Any]:
    return dict(template()["Resources"])


def alarms() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in resources().items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def metric_stats(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or each MetricStat of its metric math."""
    if "MetricName" in properties:
        return [
            {
                "Namespace": properties["Namespace"],
                "MetricName": properties["MetricName"],
                "Dimensions": properties.get("Dimensions", []),
            }
        ]
    return [q["MetricStat"]["Metric"] for q in properties.get("Metrics", []) if "MetricStat" in q]


def services() -> set[str]:
    return {
        r["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for r in resources().values()
        if r["Type"] == "AWS::Serverless::Function"
    }


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_alarm_is_on_the_alarm_topic_and_quiet_without_data(name: str) -> None:
    properties = alarms()[name]
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert properties["TreatMissingData"] == "notBreaching"  # no traffic, no alarm
    parameter = ALARMS[name]
    if parameter is not None:
        assert properties["Threshold"] == {"Ref": parameter}
        assert "Default" in template()["Parameters"][parameter]


def test_every_gateway_metric_an_alarm_reads_is_emitted_under_those_dimensions() -> None:
    emitted = emitted_metric_names()
    for name, properties in alarms().items():
        for metric in metric_stats(properties):
            if metric["Namespace"] != "CarrierGateway":
                continue
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            assert metric["MetricName"] in emitted, name
            assert set(dimensions) == DIMENSIONS.get(metric["MetricName"], {"service"}), name
            assert dimensions["service"] in services(), name
            assert dimensions.get("priority", "normal") in PRIORITIES, name


def test_aws_metrics_the_alarms_read_are_the_stacks_own() -> None:
    properties = alarms()["SendQueueAgeAlarm"]
    assert properties["Namespace"] == "AWS/SQS"
    assert properties["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert properties["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SendQueue", "QueueName"]}}
    ]
    [crashes] = [
        m
        for m in metric_stats(alarms()["TokenRefreshFailuresAlarm"])
        if m["Namespace"] == "AWS/Lambda"
    ]
    assert crashes["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "TokenRefresherFunction"}}
    ]


def test_one_lane_wait_alarm_per_priority_each_with_its_own_threshold() -> None:
    by_priority = {}
    for name, properties in alarms().items():
        for query in properties.get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("MetricName") == "DispatchWaitMs":
                [priority] = [d["Value"] for d in metric["Dimensions"] if d["Name"] == "priority"]
                by_priority[priority] = (name, query["MetricStat"]["Stat"])
    assert sorted(by_priority) == sorted(PRIORITIES)
    assert {stat for _, stat in by_priority.values()} == {"p95"}
    thresholds = {alarms()[name]["Threshold"]["Ref"] for name, _ in by_priority.values()}
    assert len(thresholds) == len(PRIORITIES)
    defaults = [
        template()["Parameters"][f"{priority.capitalize()}PriorityWaitAlarmSeconds"]["Default"]
        for priority in PRIORITIES
    ]
    assert defaults == sorted(defaults)  # high waits least


def test_metric_math_alarms_use_every_metric_they_read_over_one_period() -> None:
    for name, properties in alarms().items():
        queries = properties.get("Metrics", [])
        if not queries:
            continue
        fetched = {q["Id"] for q in queries if "MetricStat" in q}
        expressions = " ".join(q["Expression"] for q in queries if "Expression" in q)
        assert all(identifier in expressions for identifier in fetched), name
        assert len({q["MetricStat"]["Period"] for q in queries if "MetricStat" in q}) <= 1, name
        assert [q["Id"] for q in queries if q.get("ReturnData")] == [queries[-1]["Id"]], name


def test_the_delivered_ratio_is_an_hours_deliveries_over_its_sends_and_quiet_when_low() -> None:
    queries = {q["Id"]: q for q in alarms()["DeliveredRatioAlarm"]["Metrics"]}
    sent = queries["sent"]["MetricStat"]
    assert sent["Metric"]["MetricName"] == "Sent"
    assert sent["Period"] == 3600
    delivered = [
        identifier
        for identifier, q in queries.items()
        if q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "Status_delivered"
    ]
    assert all(identifier in queries["delivered"]["Expression"] for identifier in delivered)
    # Each function that applies receipts, early ones (dispatcher) and stranded ones (sweeper).
    assert {
        d["Value"]
        for identifier in delivered
        for d in queries[identifier]["MetricStat"]["Metric"]["Dimensions"]
    } == {"orange-receipts", "mm7", "mms-status-poller", "dispatcher", "sweeper"}
    # Under 20 sends an hour the ratio is 1: a quiet hour never alarms.
    assert queries["ratio"]["Expression"] == "IF(FILL(sent, 0) >= 20, delivered / sent, 1)"
    assert alarms()["DeliveredRatioAlarm"]["ComparisonOperator"] == "LessThanThreshold"
    parameter = template()["Parameters"]["DeliveredRatioThreshold"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (0, 1)


def test_the_dashboard_shows_every_alarm_and_graphs_each_new_one() -> None:
    widgets = dashboard()["widgets"]
    [status] = [w for w in widgets if w["type"] == "alarm"]
    assert set(status["properties"]["alarms"]) == {f"{name}.Arn" for name in alarms()}
    graphed = [
        arn for w in widgets for arn in w["properties"].get("annotations", {}).get("alarms", [])
    ]
    assert sorted(graphed) == sorted(f"{name}.Arn" for name in ALARMS)


def test_the_stack_outputs_the_alarm_topic_and_the_secrets_to_fill() -> None:
    outputs = template()["Outputs"]
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    for secret in ("OrangeCredentialsSecret", "MmscCredentialsSecret", "OrangePlCredentialsSecret"):
        assert outputs[f"{secret}Arn"]["Value"] == {"Ref": secret}


# -- the lane wait, as the dispatcher publishes it --------------------------------------


def queued(store: MemoryMessageStore, message_id: str, **changes: Any) -> None:
    """The message as if it had been recorded in its lane with `changes` (an earlier
    createdAt, no priority)."""
    store.messages[message_id] = replace(store.messages[message_id], **changes)


def ago(seconds: float) -> str:
    return utc_now(after=-timedelta(seconds=seconds))


def test_the_dispatcher_publishes_each_priority_s_lane_wait_in_one_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = MemoryMessageStore()
    pipeline = Pipeline(store=store, channels={"sms": Recording()})
    waiting = {"h1": ("high", 3), "n1": ("normal", 60), "n2": ("normal", 2), "b1": ("bulk", 600)}
    for message_id, (priority, seconds) in waiting.items():
        pipeline.queue_request(sms(message_id, priority), sqs_id=message_id)
        queued(store, message_id, created_at=ago(seconds))
    capsys.readouterr()

    assert pipeline.dispatch(LANE).results == {Result.SUBMITTED: 4}

    documents = [d for d in emf(capsys.readouterr().out) if "DispatchWaitMs" in d]
    assert sorted(d["priority"] for d in documents) == ["bulk", "high", "normal"]
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "CarrierGateway"
        assert [set(dimensions) for dimensions in directive["Dimensions"]] == [
            DIMENSIONS["DispatchWaitMs"]
        ]
        assert [m["Name"] for m in directive["Metrics"]] == ["DispatchWaitMs"]
    waits = {d["priority"]: d["DispatchWaitMs"] for d in documents}
    assert len(waits["normal"]) == 2  # both normal messages, in one document
    assert min(waits["normal"]) >= 2000
    [bulk] = waits["bulk"]
    assert bulk >= 600_000
    [high] = waits["high"]
    assert 3000 <= high < 60_000


def test_a_message_queued_without_a_priority_waits_as_normal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An Orange PL registration takes no priority: its wait is published as normal's, so no
    other value than the three priorities ever becomes a dimension."""
    store = MemoryMessageStore()
    pipeline = Pipeline(store=store, channels={"sms": Recording()})
    pipeline.queue_request(sms("n1"))
    queued(store, "n1", priority=None)
    capsys.readouterr()

    pipeline.dispatch(LANE)

    [document] = [d for d in emf(capsys.readouterr().out) if "DispatchWaitMs" in d]
    assert document["priority"] == "normal"


def test_the_lane_wait_is_not_on_the_invocation_s_shared_metrics() -> None:
    """There it would go out without its priority, which the alarms and dashboard read it by."""
    metrics.clear_metrics()
    pipeline = Pipeline(store=MemoryMessageStore(), channels={"sms": Recording()})
    pipeline.queue_request(sms("h1", "high"))
    pipeline.dispatch(LANE)
    assert "DispatchWaitMs" not in metrics.metric_set
    assert "priority" not in metrics.dimension_set
    metrics.clear_metrics()
