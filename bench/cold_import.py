"""Each function's cold import against `import boto3` alone, in fresh interpreters.

For every function of template.yaml, a new process of this interpreter (the venv's python3.12)
imports the handler's module with the function's folder as working directory and on the path
before layers/common (Lambda's /var/task, then /opt/python), in the environment Lambda would
give it: the template's variables (resources' names as placeholders) and Lambda's reserved
ones, the tracer on as `Tracing: Active` has it. The time is taken inside the process around
the import statement, so interpreter start-up is left out. In each round every function's
import follows an import of boto3 alone, in the same condition, so that each ratio compares
two imports made a moment apart (the machine may be busy with other work); the figures are
medians over the rounds.

Two conditions, each in every round:
- cached bytecode: the `.pyc` files a first import wrote (and pip's, for the dependencies);
- no bytecode: every module compiled from source, as on Lambda with what `sam build` makes
  (it ships no `.pyc`, and /var/task and /opt are read-only, so nothing is cached either).
"""

import os
import statistics
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.template_functions import REGION, template_functions
from infra.local.runtime.runtime import lambda_environment
from infra.local.template.functions import FunctionSpec

BASELINE = "boto3"
# The import is timed from inside the process: start-up and the timer's own import excluded.
TIMER = (
    "import time\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "print(time.perf_counter() - started)\n"
)
IMPORT_TIMEOUT_SECONDS = 60

type Pair = tuple[float, float]  # seconds: the baseline's import, then the function's


def run(quick: bool = False) -> dict[str, Any]:
    rounds = 3 if quick else 7
    baseline = _baseline_job()
    functions = {f.logical_id: _function_job(f) for f in template_functions()}
    with TemporaryDirectory(prefix="cgw-no-pyc-") as empty:
        conditions = {
            "cached": {},
            # Bytecode looked up (and never written) under an empty folder: none is found.
            "no_bytecode": {"PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"},
        }
        for job in (baseline, *functions.values()):  # writes the .pyc files "cached" reads
            _time_import(job, {})
        pairs: dict[str, dict[str, list[Pair]]] = {
            condition: {name: [] for name in functions} for condition in conditions
        }
        names = list(functions)
        for round_ in range(rounds):
            # A different function first in each round, so that none always meets the same
            # moment of a round (the machine's load drifts).
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for condition, variables in conditions.items():
                for name in order:
                    pairs[condition][name].append(
                        (
                            _time_import(baseline, variables),
                            _time_import(functions[name], variables),
                        )
                    )
    return {
        "rounds": rounds,
        "interpreter": f"python {sys.version.split()[0]}",
        "baseline": f"import {BASELINE}",
        "conditions": {condition: import_figures(timed) for condition, timed in pairs.items()},
    }


def import_figures(pairs: Mapping[str, list[Pair]]) -> dict[str, Any]:
    """Per function, from (baseline, function) seconds measured one after the other: the
    median of the function's times, and the median of its ratios to the baseline next to it.
    The baseline's median is over every pair."""
    baselines = [base for timed in pairs.values() for base, _ in timed]
    return {
        "baseline_ms": round(statistics.median(baselines) * 1000, 1),
        "functions": {
            name: {
                "ms": round(statistics.median(f for _, f in timed) * 1000, 1),
                "ratio": round(statistics.median(f / base for base, f in timed), 2),
            }
            for name, timed in pairs.items()
        },
    }


@dataclass(frozen=True)
class _Job:
    module: str
    cwd: Path
    environment: Mapping[str, str]


def _function_job(function: FunctionSpec) -> _Job:
    environment = lambda_environment(function, aws_endpoint_url="", region=REGION)
    # Lambda's, not the local stack's: no endpoint (nothing is called at import) and the
    # tracer on, which imports the X-Ray SDK and patches boto3 and requests at import.
    del environment["AWS_ENDPOINT_URL"], environment["POWERTOOLS_TRACE_DISABLED"]
    module = function.handler.rpartition(".")[0].replace("/", ".")
    return _Job(module, function.code_dir, environment)


def _baseline_job() -> _Job:
    return _Job(BASELINE, Path.cwd(), {"PATH": os.environ.get("PATH", "")})


def _time_import(job: _Job, variables: Mapping[str, str]) -> float:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", TIMER.format(module=job.module)],
        cwd=job.cwd,
        env={**job.environment, **variables},
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"import {job.module} in {job.cwd} failed: {done.stderr[-2000:]}")
    return float(done.stdout.strip())
