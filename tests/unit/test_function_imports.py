"""Each function's init imports what it runs and no more: lxml and the MM7 codec only where
MM7 is parsed or built. The init is the cold-start benchmark's (bench/cold_import.py): the
handler module imported in a fresh interpreter, as Lambda imports it, then the collaborators
it gets from gateway.wiring and its boto3 client built."""

from dataclasses import replace
from pathlib import Path

import pytest

from bench.cold_import import Init, function_job, init
from bench.template_functions import template_functions

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"
# The MM7 callbacks parse MM7. The sender and the dispatcher build MM7 too, when an MMSC is
# configured (MmscUrl); the template's defaults configure none.
MM7_FUNCTIONS = {"Mm7Function"}
MMSC_URL = "https://mmsc.example.com/mm7"
FUNCTIONS = {f.logical_id: f for f in template_functions()}


@pytest.fixture(scope="module")
def inits() -> dict[str, Init]:
    return {
        name: init(function_job(function, [LAYER], site=True), {})
        for name, function in FUNCTIONS.items()
    }


def test_only_the_mm7_functions_import_lxml(inits: dict[str, Init]) -> None:
    assert {name for name, done in inits.items() if done.imported_lxml} == MM7_FUNCTIONS


def test_only_the_mm7_functions_import_the_mm7_codec(inits: dict[str, Init]) -> None:
    assert {name for name, done in inits.items() if done.imported_mm7_codec} == MM7_FUNCTIONS


def test_the_functions_that_never_see_mm7_are_checked(inits: dict[str, Init]) -> None:
    """The template's names: a renamed function would pass the comparisons above unchecked."""
    assert {
        "OrangeReceiptsFunction",
        "StatusFunction",
        "StatusEventsFunction",
        "SweeperFunction",
    } <= set(inits)


def test_a_dispatcher_with_an_mmsc_imports_lxml() -> None:
    """The check sees lxml when it is imported: the dispatcher builds MM7 to send MMS."""
    job = function_job(FUNCTIONS["DispatcherFunction"], [LAYER], site=True)
    with_mmsc = replace(job, environment={**job.environment, "MM7_MMSC_URL": MMSC_URL})
    done = init(with_mmsc, {})
    assert done.imported_lxml
    assert done.imported_mm7_codec
