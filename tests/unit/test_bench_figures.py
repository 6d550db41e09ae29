"""The benchmarks' pure computations: request names, log accounting, DynamoDB units, package
sizes, import ratios and the cost model. Figures themselves are never asserted here."""

import base64
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bench.aws_cost import PRICES, estimate
from bench.capacity import item_bytes, recorded_write_units, transaction_items, write_units
from bench.cold_import import import_figures
from bench.package_size import tree_bytes, zipped_bytes
from bench.recording import log_usage, of_service, operation, per_message

MEMORY = {"SenderFunction": 256, "OrangeReceiptsFunction": 256}


def entry(service: str, url: str, method: str = "POST", target: str | None = None, body=None):
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261122/eu-west-1/"
        f"{service}/aws4_request, SignedHeaders=host, Signature=0"
    }
    if target:
        headers["X-Amz-Target"] = target
    raw = base64.b64encode(json.dumps(body or {}).encode()).decode()
    return {"headers": headers, "method": method, "url": url, "body": raw, "body_encoded": True}


def test_recorded_requests_are_named_by_service_and_operation() -> None:
    assert (
        operation(entry("dynamodb", "http://h/", target="DynamoDB_20120810.PutItem"))
        == "DynamoDB.PutItem"
    )
    assert operation(entry("events", "http://h/", target="AWSEvents.PutEvents")) == (
        "EventBridge.PutEvents"
    )
    assert operation(entry("s3", "http://h/bucket/inbound/a/1", "PUT")) == "S3.PutObject"
    assert operation(entry("s3", "http://h/bucket?list-type=2", "GET")) == (
        "S3.GET bucket?list-type=2"
    )


def test_operations_of_one_service_per_message() -> None:
    ops = ["DynamoDB.PutItem", "DynamoDB.PutItem", "DynamoDB.GetItem", "SQS.SendMessageBatch"]
    dynamodb = of_service(ops, "DynamoDB")
    assert dynamodb == {"PutItem": 2, "GetItem": 1}
    assert per_message(dynamodb, 4) == {"GetItem": 0.25, "PutItem": 0.5}


def test_log_usage_counts_what_was_appended() -> None:
    before = b"START RequestId: a Version: $LATEST\nREPORT RequestId: a\tDuration: 9.00 ms\n"
    added = (
        b"START RequestId: b Version: $LATEST\n"
        b'{"level":"INFO","message":"sent"}\n'
        b"END RequestId: b\n"
        b"REPORT RequestId: b\tDuration: 12.50 ms\n"
    )
    usage = log_usage(before, before + added)
    assert usage.bytes == len(added)
    assert usage.invocations == 1
    assert usage.duration_ms == (12.5,)
    with pytest.raises(ValueError, match="rewritten"):
        log_usage(before, added)


def test_item_size_follows_dynamodb_rules() -> None:
    assert item_bytes({"pk": {"S": "MSG#é"}}) == 2 + 6  # UTF-8 bytes
    assert item_bytes({"n": {"N": "-120.50"}}) == 1 + 3  # 4 significant digits: 2 + 1
    assert item_bytes({"ok": {"BOOL": True}, "x": {"NULL": True}}) == 2 + 1 + 1 + 1
    assert item_bytes({"b": {"B": base64.b64encode(b"abc").decode()}}) == 1 + 3
    assert item_bytes({"l": {"L": [{"S": "ab"}]}}) == 1 + 3 + 1 + 2
    assert item_bytes({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1


def test_write_units_per_started_kb_and_double_in_a_transaction() -> None:
    small = {"pk": {"S": "a"}}
    large = {"pk": {"S": "a"}, "data": {"S": "x" * 1500}}
    assert write_units("PutItem", {"Item": small}) == 1
    assert write_units("PutItem", {"Item": large}) == 2
    transaction = {"TransactItems": [{"Put": {"Item": small}}, {"Put": {"Item": large}}]}
    assert write_units("TransactWriteItems", transaction) == 2 * 1 + 2 * 2
    assert write_units("GetItem", {}) is None
    recorded = [
        entry("dynamodb", "http://h/", target="DynamoDB_20120810.PutItem", body={"Item": large}),
        entry(
            "dynamodb", "http://h/", target="DynamoDB_20120810.TransactWriteItems", body=transaction
        ),
        entry("dynamodb", "http://h/", target="DynamoDB_20120810.GetItem", body={}),
    ]
    assert recorded_write_units(recorded) == 2 + 6
    assert transaction_items(recorded) == [2]


def test_package_sizes_unzipped_and_zipped(tmp_path: Path) -> None:
    folder = tmp_path / "package"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "a.py").write_text("x = 1\n" * 1000)
    (folder / "b.txt").write_bytes(b"b" * 10)
    work = tmp_path / "work"
    work.mkdir()
    assert tree_bytes(folder) == 6000 + 10
    zipped = zipped_bytes(folder, work)
    assert 0 < zipped < tree_bytes(folder)  # repetitive text deflates
    assert not list(work.iterdir())  # the zip is not left behind
    archive = tmp_path / "check.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as check:
        check.write(folder / "pkg" / "a.py", "pkg/a.py")
        check.write(folder / "b.txt", "b.txt")
    assert zipped == archive.stat().st_size


def test_import_ratios_are_medians_of_adjacent_pairs() -> None:
    figures = import_figures(
        {"A": [(0.2, 0.4), (0.4, 0.6), (0.3, 0.9)], "B": [(0.2, 0.1), (0.2, 0.1), (0.2, 0.1)]}
    )
    assert figures["baseline_ms"] == 200.0
    assert figures["functions"]["A"] == {"ms": 600.0, "ratio": 2.0}  # ratios 2, 1.5, 3
    assert figures["functions"]["B"] == {"ms": 100.0, "ratio": 0.5}


def measured(figures: dict[str, Any]) -> dict[str, Any]:
    return {"date": "2026-11-22T00:00:00+00:00", "figures": figures}


def test_cost_from_measured_figures() -> None:
    entries = {
        "sender_throughput": measured(
            {
                "one_account": {
                    "invocation_seconds_per_sms": 0.5,
                    "token_requests_per_1000_sms": 2.0,
                },
                "dynamodb_per_sms": {
                    "receipts_per_sms": 2,
                    # The send's part only: the footprint's whole lifecycle is preferred.
                    "by_operation": {"GetItem": 1.0, "PutItem": 2.0, "TransactWriteItems": 1.0},
                },
            }
        ),
        "sms_footprint": measured(
            {
                "functions": {
                    "SenderFunction": {"invocations": 0.1},
                    "OrangeReceiptsFunction": {"duration_ms_per_sms": 100.0},
                },
                "by_operation": {
                    "DynamoDB.GetItem": 4.0,
                    "DynamoDB.PutItem": 5.0,
                    "DynamoDB.TransactWriteItems": 1.0,
                    "SQS.SendMessageBatch": 0.1,
                    "SQS.DeleteMessageBatch": 0.1,
                    "SQS.ReceiveMessage": 3.0,  # the local poller's empty polls: not used
                },
                "dynamodb_write_units": 9.0,  # = 5 + 2 x 2 items: every item under 1 KB
                "dynamodb_items_per_transaction": 2.0,
                "log_bytes": 3000,
            }
        ),
    }
    cost = estimate(entries, MEMORY)
    per_sms = {c["name"]: c["per_sms"] for c in cost["components"]}
    assert per_sms["DynamoDB reads"] == 4.0
    assert per_sms["DynamoDB writes"] == 5.0 + 2 * 2 * 1.0 + 4.0  # + the indexes' entries
    assert per_sms["Lambda requests"] == 0.1 + 2
    assert per_sms["Lambda duration"] == pytest.approx((0.5 + 0.1) * 256 / 1024)
    assert per_sms["SQS"] == pytest.approx(0.3)  # send + delete + one receive per invocation
    assert per_sms["Secrets Manager (token renewals)"] == pytest.approx(2.0 * 3 / 1000)
    assert per_sms["API Gateway (receipts)"] == 2.0
    dynamodb_writes = next(c for c in cost["components"] if c["name"] == "DynamoDB writes")
    price = PRICES["dynamodb_write"]
    assert dynamodb_writes["usd_per_million_sms"] == round(13.0 * price.usd, 2)
    total = sum(c["usd_per_million_sms"] for c in cost["components"])
    assert cost["total_usd_per_million_sms"] == pytest.approx(total)
    # Only what nothing measured is assumed.
    assert cost["assumed"] == ["events per SMS", "index writes per SMS"]
    assert set(cost["input_dates"]) == {"sender_throughput", "sms_footprint"}


def test_cost_says_what_it_assumed_when_figures_are_missing() -> None:
    entries = {
        "sender_throughput": {"date": "d", "error": "RuntimeError: boom"},
        "sms_footprint": measured({"by_operation": {"DynamoDB.GetItem": 5.0}}),
    }
    cost = estimate(entries, MEMORY)
    assert "sender seconds per SMS" in cost["assumed"]
    assert "receipt function ms per SMS" in cost["assumed"]
    assert "SQS requests per SMS" in cost["assumed"]
    assert any("CloudWatch Logs" in item for item in cost["not_included"])
    reads = next(c for c in cost["components"] if c["name"] == "DynamoDB reads")
    assert reads["per_sms"] == 5.0


def test_cost_needs_a_dynamodb_count() -> None:
    with pytest.raises(ValueError, match="DynamoDB"):
        estimate({}, MEMORY)


def test_traffic_percentiles_and_report() -> None:
    from bench.report import SECTIONS  # noqa: PLC0415 - the report's own table
    from bench.traffic_shaping import _percentile  # noqa: PLC0415

    ordered = [float(n) for n in range(1, 21)]
    assert (_percentile(ordered, 0.5), _percentile(ordered, 0.95)) == (10.0, 19.0)
    assert _percentile([3.0], 0.95) == 3.0
    latency = {"probes": 2, "sent": 2, "p50_seconds": 0.3, "p95_seconds": 0.5, "max_seconds": 0.5}
    run = {
        "a_high": latency,
        "b_normal": latency,
        "a_ratio_to_cap": 0.96,
        "rejected_53": 0,
        "duplicate_sends": 0,
    }
    figures = {
        "network": "60 ms +- 25 ms each way",
        "backlog": 3000,
        "window_seconds": 120.0,
        "baseline": {"b_normal": latency},
        "shaped": run,
        "unshaped": {**run, "a_normal": {"probes": 2, "sent": 0}},
        "isolation_ratio": 1.0,
        "goals": {"p95_seconds": 2.0, "isolation_ratio": 1.2, "ratio_to_cap": "ceiling"},
    }
    text = "\n".join(SECTIONS["traffic_shaping"][2](figures))
    assert "| shaped | a high | 2 / 2 | 0.3 | 0.5 | 0.5 |" in text
    assert "| unshaped | a normal | 0 / 2 | - | - | - |" in text
    assert "| B's p95, busy A / idle A | 1.0 |  | at most 1.2 |" in text


def test_mm7_report_names_each_baseline() -> None:
    from bench.report import SECTIONS  # noqa: PLC0415 - the report's own table

    figures = {
        "delivery_report_parse_and_reply": {
            "gateway_us": 60.0,
            "stdlib_us": 120.0,
            "stdlib_ratio": 2.0,
        },
        "deliver_1mb_parse": {
            "gateway_us": 1000.0,
            "stdlib_us": 30000.0,
            "stdlib_ratio": 30.0,
            "python_multipart_us": 1500.0,
            "python_multipart_ratio": 1.5,
            "body_bytes": 1_001_230,
            "gateway_mb_per_s": 1001.2,
            "parts": [
                {"content_type": "image/jpeg", "content_id": "image_0.jpg", "bytes": 1_000_000},
                {"content_type": "text/plain", "content_id": "text_0.txt", "bytes": 7},
            ],
            "python_multipart_version": "0.0.34",
        },
    }
    text = "\n".join(SECTIONS["mm7_parse"][2](figures))
    assert "| case | baseline | gateway µs | baseline µs | baseline / gateway |" in text
    assert (
        "| DeliveryReportReq parse + reply | standard library: `xml.etree` | 60.0 | 120.0 | 2.0 |"
        in text
    )
    assert (
        "| ~1 MB DeliverReq parse | standard library: `email` + `xml.etree` "
        "| 1000.0 | 30000.0 | 30.0 |" in text
    )
    assert (
        "| ~1 MB DeliverReq parse | python-multipart 0.0.34 + the gateway's XML "
        "| 1000.0 | 1500.0 | 1.5 |" in text
    )
    # Each baseline is said to be fair, and why.
    assert "Why each baseline is fair:" in text
    for baseline in (
        "(a) **standard library, `xml.etree`**",
        "(b) **standard library, `email` + `xml.etree`**",
        "(b) **python-multipart 0.0.34 + the gateway's XML**",
    ):
        assert baseline in text
    assert "no python-multipart row" in text  # (a) is bare SOAP: nothing to split
    assert "image/jpeg <image_0.jpg>, 1,000,000 bytes" in text


def test_mm7_report_reads_results_from_before_the_python_multipart_baseline() -> None:
    from bench.report import SECTIONS  # noqa: PLC0415

    old = {"gateway_us": 60.0, "stdlib_us": 120.0, "speedup": 2.0}
    figures = {
        "delivery_report_parse_and_reply": old,
        "deliver_1mb_parse": {
            **old,
            "body_bytes": 1_001_230,
            "gateway_mb_per_s": 1001.2,
            "gateway_image_intact": True,
            "stdlib_image_intact": True,
        },
    }
    text = "\n".join(SECTIONS["mm7_parse"][2](figures))
    assert "| ~1 MB DeliverReq parse | standard library: `email` + `xml.etree` " in text
    assert "| 60.0 | 120.0 | 2.0 |" in text
    assert "python-multipart + the gateway's XML |" not in text  # no row without figures
    assert "byte for byte from both: yes" in text


def test_segments_a_second_and_the_fullest_second_of_a_segment_billed_account() -> None:
    from bench.cap_under_jitter import mixed_requests, unit_figures  # noqa: PLC0415
    from bench.local import CIV  # noqa: PLC0415
    from infra.simulators._segments import count_segments  # noqa: PLC0415

    sends = [(10.0, 2), (10.4, 1), (10.8, 2), (11.2, 1), (12.0, 2)]
    figures = unit_figures(sends)
    # 6 units before the last send, over 2 s; the fullest second: 2 + 1 + 2 from 10.0.
    assert (figures["units"], figures["units_per_second"]) == (8, 3.0)
    assert (figures["ratio_to_unit_cap"], figures["max_units_in_any_1s_window"]) == (0.6, 5)
    requests = mixed_requests("mix", CIV, 40)
    assert sorted(count_segments(r["text"]) for r in requests) == [1] * 20 + [2] * 20


def test_cap_under_jitter_reports_the_segment_billed_account_when_measured() -> None:
    from bench.report import SECTIONS  # noqa: PLC0415 - the report's own table

    model = {"sends": 10, "slot_margin": 0.04, "ratio_to_cap": 0.86, "refused_share": 0.002}
    measured = {"sms": 10, "rejected_53": 0, "refused_share": 0.0, "duplicate_sends": 0}
    run = {"one_account": {**measured, "accounts": {}, "all_delivered": True}}
    figures: dict[str, Any] = {
        "network": "60 ms +- 25 ms each way",
        "backlog_per_account": 10,
        "measured": {"answers": run},
        "model": {"answers": model},
        "goals": {"ratio_to_cap": 0.97, "refused_share": 0.005},
    }
    section = SECTIONS["cap_under_jitter"][2]
    assert "billed per segment" not in "\n".join(section(figures))

    figures["segment_billed"] = {
        "sms": 10,
        "two_part_share": 0.5,
        "measured": {
            **measured,
            "ratio_to_unit_cap": 0.85,
            "max_units_in_any_1s_window": 5,
            "all_delivered": True,
        },
        "model": {"oracle": model},
        "goal_ratio_to_unit_cap": 0.9,
    }
    text = "\n".join(section(figures))
    assert "| measured | 0.85 | 5 | 0 (0.00%) | 0 | yes |" in text
    assert "| model, oracle | 0.86 |  | 0.20% |  |  |" in text
