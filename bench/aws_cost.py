"""Estimated AWS cost per million SMS, from the figures measured in bench/results.json.

Nothing is measured here: each input is read from another benchmark's latest entry or, when
that entry or figure is missing, assumed, and listed as such. Prices are eu-west-1 on-demand
list prices, without free or volume tiers. The carrier's price per SMS is not included, nor
costs that do not grow with the number of SMS (listed in NOT_INCLUDED). `--quick` changes
nothing: there is no size to reduce.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bench.capacity import PLAIN_WRITES, READS, TRANSACTION_FACTOR
from bench.template_functions import template_functions


@dataclass(frozen=True)
class Price:
    usd: float
    per: int  # how many units `usd` buys
    unit: str


# eu-west-1 on-demand list prices (USD). Source: AWS pricing pages, as known on 2026-11.
PRICES: dict[str, Price] = {
    "lambda_request": Price(0.20, 1_000_000, "Lambda requests"),
    "lambda_gb_second": Price(0.0000133334, 1, "Lambda GB-second (arm64, as the template has)"),
    "dynamodb_read": Price(0.1415, 1_000_000, "DynamoDB read request units (on demand)"),
    "dynamodb_write": Price(0.7068, 1_000_000, "DynamoDB write request units (on demand)"),
    "api_gateway": Price(1.00, 1_000_000, "API Gateway HTTP API requests (first 300 million)"),
    "sqs": Price(0.40, 1_000_000, "SQS standard requests (64 KB each)"),
    "secrets_manager": Price(0.05, 10_000, "Secrets Manager API calls"),
    "eventbridge": Price(1.00, 1_000_000, "EventBridge custom events (64 KB each)"),
    "logs": Price(0.57, 1, "GB (2^30 bytes) of CloudWatch Logs ingested (standard class)"),
}
PRICE_SOURCE = "eu-west-1 on-demand list prices; AWS pricing pages, as known on 2026-11"
NOT_INCLUDED = [
    "the carrier's price per SMS",
    "free tiers and volume discounts",
    "costs by the hour or month, not by SMS: secrets stored ($0.40 a secret a month), "
    "Lambda's pollers on an idle queue, the scheduled functions, alarms, custom metrics, "
    "DynamoDB and S3 storage, point-in-time recovery, log storage",
    "X-Ray traces (Tracing: Active): sampled, by default 1 a second and 5% of the rest",
    "reading statuses (GET /messages/{id}) and data transfer out",
]
MILLION = 1_000_000
GB = 1024**3
MB_PER_GB = 1024

# DynamoDB on demand: a read unit per started 4 KB read strongly consistently (as the gateway
# reads: items under 4 KB assumed), a write unit per started KB written (bench/capacity).
# What is assumed when no benchmark measured it, with the reason given in the inputs:
TRANSACTION_ITEMS = 2.0
INDEX_WRITES = 4.0
SECRETS_CALLS_PER_TOKEN = 3
STATUS_CHANGES = 4.0  # accepted, submitted, sent (DeliveredToNetwork), delivered
SQS_BATCH = 10
RECEIPTS = 2.0
RECEIPT_MS = 100.0
SENDER_SECONDS = 0.6  # 3 concurrent invocations sharing one account's 5 SMS/s


@dataclass(frozen=True)
class Input:
    name: str
    value: float
    unit: str
    source: str  # the results.json figure it comes from, or why it is assumed
    measured: bool


@dataclass(frozen=True)
class Component:
    name: str
    per_sms: float
    unit: str
    price: str  # a key of PRICES
    usd_per_million_sms: float


def run(entries: Mapping[str, Any]) -> dict[str, Any]:
    memory = {f.logical_id: f.memory_size for f in template_functions()}
    return estimate(entries, memory)


def estimate(entries: Mapping[str, Any], memory_mb: Mapping[str, int]) -> dict[str, Any]:
    """The cost per million SMS from the benchmarks' entries (name -> entry, as in
    results.json) and the functions' memory sizes (MB, by logical id)."""
    inputs = _Inputs(entries)
    receipts = inputs.get(
        "receipts per SMS",
        "sender_throughput",
        "dynamodb_per_sms.receipts_per_sms",
        RECEIPTS,
        unit="receipts",
        assumption="DeliveredToNetwork and DeliveredToTerminal",
    )
    token_requests = inputs.get(
        "token requests per 1,000 SMS",
        "sender_throughput",
        "one_account.token_requests_per_1000_sms",
        1.0,
        unit="requests",
        assumption="one per 1,000 SMS",
    )
    logs = _logs(inputs)
    events = inputs.assume(
        "events per SMS",
        STATUS_CHANGES,
        "events",
        "one MessageStatusChanged per status change: accepted, submitted, sent "
        "(DeliveredToNetwork), delivered (DeliveredToTerminal); published up to ten to a "
        f"PutEvents call, priced per event ({_published(inputs)})",
    )
    components = [
        *_dynamodb(inputs),
        *_lambda(inputs, memory_mb, receipts),
        _component("API Gateway (receipts)", receipts, "requests", "api_gateway"),
        _component("SQS", _sqs_requests(inputs), "requests", "sqs"),
        _component(
            "Secrets Manager (token renewals)",
            token_requests * SECRETS_CALLS_PER_TOKEN / 1000,
            "API calls",
            "secrets_manager",
        ),
        _component("EventBridge", events, "events", "eventbridge"),
        *logs,
    ]
    missing = [] if logs else ["CloudWatch Logs: no log bytes per SMS measured (sms_footprint)"]
    return {
        "price_source": PRICE_SOURCE,
        "prices": {name: asdict(price) for name, price in PRICES.items()},
        "inputs": [asdict(i) for i in inputs.used],
        "input_dates": dict(sorted(inputs.dates.items())),
        "components": [asdict(c) for c in components],
        "total_usd_per_million_sms": round(sum(c.usd_per_million_sms for c in components), 2),
        "assumed": [i.name for i in inputs.used if not i.measured],
        "not_included": [*NOT_INCLUDED, *missing],
    }


class _Inputs:
    """The figures the estimate reads, each recorded with where it came from."""

    def __init__(self, entries: Mapping[str, Any]) -> None:
        self._entries = {name: entry for name, entry in entries.items() if "figures" in entry}
        self.used: list[Input] = []
        self.dates: dict[str, str] = {}  # of the entries a figure was read from

    def figure(self, benchmark: str, path: str) -> Any:
        """A figure by dotted path, None when the benchmark or the figure is missing."""
        entry = self._entries.get(benchmark)
        node: Any = entry and entry["figures"]
        for key in path.split("."):
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        if entry is not None:
            self.dates[benchmark] = entry["date"]
        return node

    def get(
        self, name: str, benchmark: str, path: str, default: float, *, unit: str, assumption: str
    ) -> float:
        """The figure at `path`, recorded as measured; else `default`, recorded as assumed."""
        value = self.figure(benchmark, path)
        if value is None:
            return self.assume(name, default, unit, assumption)
        return self.measured(name, float(value), unit, f"{benchmark}: {path}")

    def measured(self, name: str, value: float, unit: str, source: str) -> float:
        self.used.append(Input(name, value, unit, source, measured=True))
        return value

    def assume(self, name: str, value: float, unit: str, assumption: str) -> float:
        self.used.append(Input(name, value, unit, assumption, measured=False))
        return value


def _component(name: str, per_sms: float, unit: str, price: str) -> Component:
    usd = per_sms * PRICES[price].usd / PRICES[price].per * MILLION
    return Component(name, float(f"{per_sms:.6g}"), unit, price, round(usd, 2))


def _dynamodb(inputs: _Inputs) -> list[Component]:
    """Read and write units from the throughput run's requests per SMS lifecycle, with the
    footprint's items per transaction and item sizes where it measured them."""
    by_operation = _dynamodb_requests(inputs)
    reads = sum(n for op, n in by_operation.items() if op in READS)
    reads += TRANSACTION_FACTOR * by_operation.get("TransactGetItems", 0)
    items = inputs.get(
        "items per TransactWriteItems",
        "sms_footprint",
        "dynamodb_items_per_transaction",
        TRANSACTION_ITEMS,
        unit="items",
        assumption="repository.save_with_ref: the message and its provider reference",
    )
    writes = _writes_at_1kb(by_operation, items) * _item_size_factor(inputs, items)
    writes += inputs.assume(
        "index writes per SMS",
        INDEX_WRITES,
        "write units",
        "keys-only entries of a message: ByRecipient and ByDay (search) when it is created, "
        "ByFinalDeadline from its send to its final status (in and out); ByCampaign only for "
        "campaign messages, left out",
    )
    return [
        _component("DynamoDB reads", reads, "read units", "dynamodb_read"),
        _component("DynamoDB writes", writes, "write units", "dynamodb_write"),
    ]


def _dynamodb_requests(inputs: _Inputs) -> dict[str, float]:
    """The whole lifecycle's requests (the footprint: send, receipts, early receipts, idle
    spells), or, without it, the throughput run's (the send's part only)."""
    source = "sms_footprint: by_operation"
    by_operation = _dynamodb_only(inputs.figure("sms_footprint", "by_operation") or {})
    if not by_operation:
        source = "sender_throughput: dynamodb_per_sms.by_operation"
        by_operation = inputs.figure("sender_throughput", "dynamodb_per_sms.by_operation")
    if not by_operation:
        raise ValueError("no DynamoDB requests per SMS in results.json to estimate from")
    for op, n in sorted(by_operation.items()):
        inputs.measured(f"DynamoDB {op} per SMS", float(n), "requests", source)
    return {op: float(n) for op, n in by_operation.items()}


def _dynamodb_only(by_operation: Mapping[str, float]) -> dict[str, float]:
    prefix = "DynamoDB."
    return {op.removeprefix(prefix): n for op, n in by_operation.items() if op.startswith(prefix)}


def _writes_at_1kb(by_operation: Mapping[str, float], transaction_items: float) -> float:
    """Write units if every item written were under 1 KB."""
    plain = sum(n for op, n in by_operation.items() if op in PLAIN_WRITES)
    transactions = by_operation.get("TransactWriteItems", 0)
    return plain + TRANSACTION_FACTOR * transaction_items * transactions


def _item_size_factor(inputs: _Inputs, transaction_items: float) -> float:
    """The footprint's write units (worked out from the items' sizes) over what the same
    writes cost with items under 1 KB: 1 while every item stays under 1 KB."""
    units = inputs.figure("sms_footprint", "dynamodb_write_units")
    by_operation = inputs.figure("sms_footprint", "by_operation")
    if units is None or by_operation is None:
        return inputs.assume("item size factor", 1.0, "x", "every item written under 1 KB")
    at_1kb = _writes_at_1kb(_dynamodb_only(by_operation), transaction_items)
    return inputs.measured(
        "item size factor",
        round(units / at_1kb, 3),
        "x",
        "sms_footprint: dynamodb_write_units over the same writes at 1 KB an item",
    )


def _lambda(inputs: _Inputs, memory_mb: Mapping[str, int], receipts: float) -> list[Component]:
    """Invocations and GB-seconds of the sender (its time per SMS at the cap, rate-limit waits
    included) and of the receipt function (its duration per SMS)."""
    sender_invocations = inputs.get(
        "sender invocations per SMS",
        "sms_footprint",
        "functions.SenderFunction.invocations",
        1 / SQS_BATCH,
        unit="invocations",
        assumption="batches of ten",
    )
    sender_seconds = inputs.get(
        "sender seconds per SMS",
        "sender_throughput",
        "one_account.invocation_seconds_per_sms",
        SENDER_SECONDS,
        unit="s",
        assumption="3 concurrent invocations sharing one account's 5 SMS/s",
    )
    receipt_ms = inputs.get(
        "receipt function ms per SMS",
        "sms_footprint",
        "functions.OrangeReceiptsFunction.duration_ms_per_sms",
        RECEIPT_MS * receipts,
        unit="ms",
        assumption=f"{RECEIPT_MS:.0f} ms per receipt",
    )
    gb_seconds = (
        sender_seconds * memory_mb["SenderFunction"]
        + receipt_ms / 1000 * memory_mb["OrangeReceiptsFunction"]
    ) / MB_PER_GB
    return [
        _component(
            "Lambda requests", sender_invocations + receipts, "invocations", "lambda_request"
        ),
        _component("Lambda duration", gb_seconds, "GB-seconds", "lambda_gb_second"),
    ]


def _sqs_requests(inputs: _Inputs) -> float:
    """The footprint's SQS requests but ReceiveMessage (its count includes the local poller's
    empty polls), plus one ReceiveMessage per invocation of the two queue consumers (the
    intake, the receipts); else batches of ten."""
    by_operation = inputs.figure("sms_footprint", "by_operation")
    senders = inputs.figure("sms_footprint", "functions.SenderFunction.invocations")
    receipts = inputs.figure("sms_footprint", "functions.OrangeReceiptsFunction.invocations")
    invocations = None if senders is None else senders + (receipts or 0)
    if by_operation is None or invocations is None:
        return inputs.assume(
            "SQS requests per SMS",
            3 / SQS_BATCH,
            "requests",
            "a SendMessageBatch, a ReceiveMessage and a DeleteMessageBatch per 10 SMS",
        )
    counted = sum(
        n for op, n in by_operation.items() if op.startswith("SQS.") and op != "SQS.ReceiveMessage"
    )
    return inputs.measured(
        "SQS requests per SMS",
        round(counted + invocations, 3),
        "requests",
        "sms_footprint: SQS requests but ReceiveMessage, plus one per sender or receipt "
        "function invocation",
    )


def _published(inputs: _Inputs) -> str:
    by_operation = inputs.figure("sms_footprint", "by_operation")
    if by_operation is None:
        return "no count of what the gateway publishes per SMS"
    return f"{by_operation.get('EventBridge.PutEvents', 0)} PutEvents calls per SMS measured"


def _logs(inputs: _Inputs) -> list[Component]:
    log_bytes = inputs.figure("sms_footprint", "log_bytes")
    if log_bytes is None:
        return []
    inputs.measured("log bytes per SMS", log_bytes, "bytes", "sms_footprint: log_bytes")
    return [_component("CloudWatch Logs", log_bytes / GB, f"GB ingested ({log_bytes:,} B)", "logs")]
