"""The template's functions as the local stack reads them, without starting anything: the
resources they refer to get placeholder names, as no AWS endpoint creates them."""

from collections.abc import Iterator, Mapping
from pathlib import Path

from infra.local.template.functions import FunctionSpec, code_resources, read_apis, read_functions
from infra.local.template.intrinsics import Physical
from infra.local.template.template import Template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
# `sam build`'s output: a template whose CodeUri and ContentUri name the built folders.
BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
REGION = "eu-west-1"
STACK_NAME = "carrier-gateway"


class _Placeholders(Mapping[str, str]):
    """Any attribute of a resource that was never created (`Fn::GetAtt X.Arn`)."""

    def __init__(self, logical_id: str) -> None:
        self._logical_id = logical_id

    def __getitem__(self, attribute: str) -> str:
        return f"{self._logical_id}.{attribute}"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def template_functions(path: Path = TEMPLATE) -> list[FunctionSpec]:
    """Every function of the template at `path`, its environment resolved with placeholders
    for the resources' names and ARNs and the parameters' defaults."""
    template = Template.load(path)
    physical: dict[str, Physical] = {}
    resolver = template.resolver(
        overrides={}, region=REGION, stack_name=STACK_NAME, physical=physical
    )
    resources = template.resources(resolver)
    physical.update(
        {
            r.logical_id: Physical(f"{STACK_NAME}-{r.logical_id}", _Placeholders(r.logical_id))
            for r in resources
        }
    )
    physical.update(code_resources(resources, resolver, REGION, STACK_NAME))
    apis = read_apis(resources, resolver, template.globals_section("HttpApi"))
    return read_functions(resources, resolver, physical, apis, template.base_dir)
