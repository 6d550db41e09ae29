"""What the end-to-end tests share: a local stack from the real template, and waiting."""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from infra.local.stack import LocalStack, LocalStackOptions

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
