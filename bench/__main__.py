"""`python -m bench [--only NAME] [--quick]`: run the benchmarks, write bench/results.json and
regenerate docs/BENCHMARKS.md from it.

With `--only`, the other benchmarks' entries in results.json are kept, so the document always
shows the latest figures of each. Each entry carries its date and the machine it ran on.
`aws_cost` measures nothing: it works the cost out from the entries as they are when it runs.
The exit status is 1 when a benchmark failed or a reliability run (the fault-injection run, the
receipt storm) found a violation.
"""

import argparse
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    aws_cost,
    backlog_cost,
    cap_under_jitter,
    cold_import,
    mm7_parse,
    mo_mms,
    package_size,
    receipt_storm,
    reliability,
    sender_throughput,
    sms_footprint,
    traffic_shaping,
)
from bench.report import render

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
DOCS = ROOT / "docs" / "BENCHMARKS.md"

# (quick, the entries so far: this run's and those kept) -> figures
type Benchmark = Callable[[bool, Mapping[str, Any]], dict[str, Any]]

BENCHMARKS: dict[str, Benchmark] = {
    "mm7_parse": lambda quick, _: mm7_parse.run(),  # already takes a few seconds
    "sender_throughput": lambda quick, _: sender_throughput.run(quick),
    "traffic_shaping": lambda quick, _: traffic_shaping.run(quick),
    "backlog_cost": lambda quick, _: backlog_cost.run(quick),
    "cap_under_jitter": lambda quick, _: cap_under_jitter.run(quick),
    "reliability": lambda quick, _: reliability.run(quick),
    "receipt_storm": lambda quick, _: receipt_storm.run(quick),
    "cold_import": lambda quick, _: cold_import.run(quick),
    "package_size": lambda quick, _: package_size.run(quick),
    "mo_mms": lambda quick, _: mo_mms.run(quick),
    "sms_footprint": lambda quick, _: sms_footprint.run(quick),
    # From the figures above, so last; nothing to make smaller.
    "aws_cost": lambda quick, entries: aws_cost.run(entries),
}

logger = logging.getLogger("bench")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logger.setLevel(logging.INFO)
    results = _load() if args.only else {}
    entries: dict[str, Any] = results.setdefault("benchmarks", {})
    # In BENCHMARKS' order whatever the command line's, so aws_cost follows what it reads.
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    for name in names:
        entries[name] = run_benchmark(name, quick=args.quick, entries=entries)
    results["updated"] = _now()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(render(results))
    logger.info("wrote %s and %s", RESULTS.relative_to(ROOT), DOCS.relative_to(ROOT))
    failed = [name for name in names if _failed(entries[name])]
    if failed:
        logger.error("failed or with violations: %s", ", ".join(failed))
    return 1 if failed else 0


def run_benchmark(name: str, *, quick: bool, entries: Mapping[str, Any]) -> dict[str, Any]:
    """One benchmark's entry: when, where, how long, and its figures (or its error)."""
    logger.info("running %s%s", name, " (quick)" if quick else "")
    entry: dict[str, Any] = {"date": _now(), "quick": quick, "machine": machine()}
    started = time.monotonic()
    try:
        entry["figures"] = BENCHMARKS[name](quick, entries)
    except Exception as exc:  # recorded and reported; the other benchmarks still run
        logger.exception("%s failed", name)
        entry["error"] = f"{type(exc).__name__}: {exc}"
    entry["seconds"] = round(time.monotonic() - started, 1)
    entry["machine"]["load_average_1m_end"] = _load_average()
    logger.info("%s done in %.0f s", name, entry["seconds"])
    return entry


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, Python, and how busy the machine was at the start
    (other work on the same cores slows the local stack; the end's load is added after)."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_1m": _load_average(),
    }


def _load_average() -> float:
    return round(os.getloadavg()[0], 2)


def _failed(entry: dict[str, Any]) -> bool:
    return "error" in entry or bool(entry.get("figures", {}).get("violations"))


def _load() -> dict[str, Any]:
    if not RESULTS.exists():
        return {}
    loaded: dict[str, Any] = json.loads(RESULTS.read_text())
    return loaded


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHMARKS), help="run this one (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
