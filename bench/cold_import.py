"""Each function's init against a bare handler's (`import boto3` and a DynamoDB client), in
fresh interpreters, from what `sam build` made.

A function's init is what Lambda runs before the first invocation, and what the first one adds
to it: its handler module imported, the collaborators it uses built (the zero-argument
builders of gateway.wiring it imports) and its boto3 client built (DynamoDB's, EventBridge's
for the stream's status events). The baseline is a handler that imports boto3 and builds a
DynamoDB client. Each runs in a new process of this interpreter (the venv's python3.12)
without its site-packages (`-S`), as on Lambda: the path is the function's folder and the
layer's python/ from .aws-sam/build (Lambda's /var/task, then /opt/python; `make build` first
when missing), then a copy of the venv's boto3 and its dependencies standing for the runtime's
(/var/runtime: its bytecode compiled ahead, as the runtime's is); the environment is the
template's (resources' names as placeholders) and Lambda's reserved variables, the tracer on
as `Tracing: Active` has it. The time is taken inside the process, so interpreter start-up is
left out. In each round every function's init follows the baseline's, in the same condition,
so that each ratio compares two inits made a moment apart (the machine may be busy with other
work); the figures are medians over the rounds.

Two conditions, each in every round:
- cached: every module's bytecode, the function's own included, cached by a first run;
- no_bytecode: no bytecode written at run time, as on Lambda (/var/task and /opt are
  read-only): only what the build ships is used (the layer's, compiled by the Makefile's
  build-CommonLayer; the function's folder has none, its app.py is compiled every time).
"""

import importlib.metadata
import inspect
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.template_functions import BUILT_TEMPLATE, REGION, ROOT, template_functions
from gateway import wiring
from infra.local.aws import FAKE_CREDENTIALS
from infra.local.runtime.runtime import lambda_environment
from infra.local.template.functions import FunctionSpec

LAYER_SOURCE = ROOT / "layers" / "common"
# The layer's recipe (the Makefile's, as `sam build` runs it), for this machine's platform.
MAKE_LAYER = (
    "make",
    "--silent",
    "--no-print-directory",
    "-f",
    str(ROOT / "Makefile"),
    "build-CommonLayer",
)
HOST_PLATFORM = f"{platform.machine()}-manylinux2014"
# Bytecode as the Lambda runtime's own packages have it: compiled ahead, never checked.
COMPILE = (
    sys.executable,
    "-m",
    "compileall",
    "-q",
    "-j",
    "0",
    "--invalidation-mode",
    "unchecked-hash",
)
BASELINE = "import boto3; boto3.client('dynamodb')"
BASELINE_HANDLER = 'import boto3\n\nDYNAMODB = boto3.client("dynamodb")\n'
# What the Lambda runtime provides besides the standard library: boto3 and its dependencies
# (the layer's urllib3, for requests, comes first on the functions' path).
RUNTIME_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)
# The function whose client is not DynamoDB's: it publishes the table's stream to EventBridge.
CLIENTS = {"StatusEventsFunction": "events"}
DEFAULT_CLIENT = "dynamodb"
# The init is timed from inside the process: start-up and the timer's own import excluded.
TIMER = (
    "import sys, time\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "{build}"
    "elapsed = time.perf_counter() - started\n"
    "print(elapsed, 'lxml' in sys.modules, 'gateway.mm7' in sys.modules)\n"
)
IMPORT_TIMEOUT_SECONDS = 60

type Pair = tuple[float, float]  # seconds: the baseline's init, then the function's


@dataclass(frozen=True)
class Job:
    """One init: `module` imported, then `build` run, with `cwd` as working directory."""

    module: str
    cwd: Path
    environment: Mapping[str, str]
    build: str = ""
    site: bool = False  # the venv's site-packages on the path (tests), not on Lambda


@dataclass(frozen=True)
class Init:
    seconds: float
    imported_lxml: bool
    imported_mm7_codec: bool


def run(quick: bool = False) -> dict[str, Any]:
    rounds = 3 if quick else 7
    if not BUILT_TEMPLATE.exists():
        subprocess.run(["make", "build"], cwd=ROOT, check=True)  # noqa: S607 - the Makefile's
    with ExitStack() as stack:
        runtime = stack.enter_context(runtime_packages())
        layer = stack.enter_context(host_layer())
        baseline = stack.enter_context(baseline_job(runtime))
        functions = {
            f.logical_id: function_job(f, [layer, runtime])
            for f in template_functions(BUILT_TEMPLATE)
        }
        cache = stack.enter_context(TemporaryDirectory(prefix="cgw-pyc-"))
        conditions = {
            "cached": {"PYTHONPYCACHEPREFIX": cache},
            "no_bytecode": {"PYTHONDONTWRITEBYTECODE": "1"},
        }
        for job in (baseline, *functions.values()):  # writes the bytecode "cached" reads
            for variables in conditions.values():
                init(job, variables)
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
                            init(baseline, variables).seconds,
                            init(functions[name], variables).seconds,
                        )
                    )
    return {
        "rounds": rounds,
        "interpreter": f"python {sys.version.split()[0]}",
        "baseline": BASELINE,
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


def function_job(function: FunctionSpec, layer_paths: list[Path], site: bool = False) -> Job:
    """The function's init with its folder, then `layer_paths`, on the path."""
    environment = lambda_environment(function, aws_endpoint_url="", region=REGION)
    # Lambda's, not the local stack's: no endpoint (nothing is called) and the tracer on,
    # which imports the X-Ray SDK and patches boto3 and requests at import.
    del environment["AWS_ENDPOINT_URL"], environment["POWERTOOLS_TRACE_DISABLED"]
    environment["PYTHONPATH"] = os.pathsep.join(map(str, [function.code_dir, *layer_paths]))
    module = function.handler.rpartition(".")[0].replace("/", ".")
    builders = wiring_builders(function.code_dir / f"{module.replace('.', '/')}.py")
    lines = ["from gateway import wiring\n"] if builders else []
    lines += [f"wiring.{name}()\n" for name in builders]
    client = CLIENTS.get(function.logical_id, DEFAULT_CLIENT)
    lines += ["from gateway.aws import clients\n", f"clients.{client}()\n"]
    return Job(module, function.code_dir, environment, "".join(lines), site)


def wiring_builders(handler: Path) -> list[str]:
    """The collaborators `handler` gets from gateway.wiring that are built once per container
    (cached, no argument): what its first invocation builds, without calling anything."""
    names = [
        name
        for line in handler.read_text().splitlines()
        if line.startswith("from gateway.wiring import ")
        for name in line.removeprefix("from gateway.wiring import ").split(", ")
    ]
    return [
        name
        for name in names
        if hasattr(builder := getattr(wiring, name), "cache_clear")
        and not inspect.signature(builder).parameters
    ]


@contextmanager
def baseline_job(runtime: Path) -> Iterator[Job]:
    with TemporaryDirectory(prefix="cgw-baseline-") as folder:
        Path(folder, "app.py").write_text(BASELINE_HANDLER)
        environment = {
            name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ
        }
        environment |= {
            **FAKE_CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PYTHONPATH": os.pathsep.join([folder, str(runtime)]),
        }
        yield Job("app", Path(folder), environment)


@contextmanager
def host_layer() -> Iterator[Path]:
    """The layer's python/ folder as the Makefile's build-CommonLayer makes it for `sam build`,
    for this machine's architecture: .aws-sam/build's is arm64's, whose compiled extensions
    (lxml, pydantic_core) only an arm64 machine loads."""
    with TemporaryDirectory(prefix="cgw-layer-") as folder:
        source = Path(folder, "common")
        shutil.copytree(LAYER_SOURCE, source, ignore=shutil.ignore_patterns("__pycache__"))
        layer = [f"ARTIFACTS_DIR={folder}/layer", f"LAYER_PLATFORM={HOST_PLATFORM}"]
        subprocess.run([*MAKE_LAYER, *layer], cwd=source, check=True)  # noqa: S603
        yield Path(folder, "layer", "python")


@contextmanager
def runtime_packages() -> Iterator[Path]:
    """A folder standing for the runtime's packages: the venv's boto3 and its dependencies,
    bytecode compiled ahead (the hash not checked, as nothing changes them)."""
    with TemporaryDirectory(prefix="cgw-runtime-") as folder:
        for name in RUNTIME_DISTRIBUTIONS:
            for file in importlib.metadata.distribution(name).files or []:
                # Sources and data only: no bytecode, metadata or console scripts (../bin).
                if {"__pycache__", ".."} & set(file.parts) or ".dist-info" in file.parts[0]:
                    continue
                target = Path(folder, *file.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(str(file.locate())), target)
        subprocess.run([*COMPILE, folder], check=True)  # noqa: S603 - this interpreter
        yield Path(folder)


def init(job: Job, variables: Mapping[str, str]) -> Init:
    flags = [] if job.site else ["-S"]
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, *flags, "-c", TIMER.format(module=job.module, build=job.build)],
        cwd=job.cwd,
        env={**job.environment, **variables},
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"init of {job.module} in {job.cwd} failed: {done.stderr[-2000:]}")
    seconds, lxml, mm7 = done.stdout.split()
    return Init(float(seconds), lxml == "True", mm7 == "True")
