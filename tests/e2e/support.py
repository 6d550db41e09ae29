"""What the end-to-end tests share: a local stack from the real template, and waiting."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from infra.local.stack import LocalStack, LocalStackOptions
from infra.simulators.orange import OrangeSimulator

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60.0


@contextmanager
def local_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, **options: Any
) -> Iterator[LocalStack]:
    """The whole gateway on free ports, in its own moto namespace (a unique stack name)."""
    settings = LocalStackOptions(
        template_path=ROOT / "template.yaml",
        api_port=0,
        aws_port=0,
        state_dir=tmp_path_factory.mktemp(f"local-{name}"),
        stack_name=f"e2e-{name}-{uuid.uuid4().hex[:6]}",
        **options,
    )
    with LocalStack(settings) as running:
        yield running


def wait_for(check: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.25)


SECRET_VARIABLES = (
    "ORANGE_CREDENTIALS_SECRET",
    "ORANGE_TOKEN_SECRET",
    "MM7_CREDENTIALS_SECRET",
    "MM7_MMSC_CREDENTIALS_SECRET",
    "ORANGE_PL_CREDENTIALS_SECRET",
)


def logged_secrets(stack: LocalStack) -> list[str]:
    """Which function logs hold a value that must never be logged: a secret's value (the
    receipt URL's token, client secrets, passwords, tokens) or a full phone number the
    gateway sent to; [] when none does."""
    secrets = stack.clients.secretsmanager()
    environment = {k: v for f in stack.functions for k, v in f.environment.items()}
    forbidden = {stack.endpoints["orange_dr_url"].rsplit("/", 1)[1]}
    for variable in SECRET_VARIABLES:
        raw = json.loads(secrets.get_secret_value(SecretId=environment[variable])["SecretString"])
        forbidden |= {v for k, v in raw.items() if k != "username" and isinstance(v, str) and v}
    numbers = {s.recipient.lstrip("+") for s in stack.simulator(OrangeSimulator).sends()}
    assert numbers, "no SMS was sent: nothing to look for"
    logs = [p for p in Path(stack.logs_dir).glob("*.log") if p.stat().st_size]
    assert logs, "no function logged anything"
    return [
        f"{log.name}: {kind}"
        for log in logs
        for kind, values in (("a secret", forbidden), ("a full phone number", numbers))
        if any(value in log.read_text() for value in values)
    ]
