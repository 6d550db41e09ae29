"""`make demo` as a test: the full demo on its own local stack ends as expected, and no
function logged a secret, a token, a password or a full phone number while it ran."""

from pathlib import Path

import pytest
from rich.console import Console

from cgw.demo import demo_stack_options, run_demo_on
from infra.local.stack import LocalStack
from tests.e2e.support import logged_secrets

pytestmark = pytest.mark.e2e


def test_the_full_demo_ends_as_expected_and_logs_no_secret(tmp_path: Path) -> None:
    console = Console(file=(tmp_path / "demo.txt").open("w"), width=160)
    with LocalStack(demo_stack_options(tmp_path / "demo")) as stack:
        assert run_demo_on(stack, console, timeout=180)
        assert logged_secrets(stack) == []
    console.file.flush()
    # The watch of the demo's messages: the four meant to fail are the ones not delivered.
    output = (tmp_path / "demo.txt").read_text()
    assert "4 of 9 not delivered" in output
    # The search by the first SMS's number (given without its +) found it.
    assert "cgw messages --to +2250******001: the" in output
