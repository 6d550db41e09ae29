"""template.yaml as SAM sees it: parameters, pseudo parameters, conditions, Globals, resources."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

from infra.local.aws import ACCOUNT_ID
from infra.local.template.intrinsics import Physical, Resolver, TemplateError, as_text, is_intrinsic

# The SAM Globals section each serverless resource type takes its defaults from.
_GLOBALS_SECTIONS = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::SimpleTable": "SimpleTable",
    "AWS::Serverless::LayerVersion": "LayerVersion",
}


@dataclass(frozen=True)
class Resource:
    """One resource of the template, its properties unresolved, SAM Globals applied."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    depends_on: tuple[str, ...]


def merge_globals(defaults: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's rule: maps merge (the resource wins), lists add up (Globals first), scalars replace.

    An intrinsic function counts as a scalar, so `!Ref X` never merges with a map.
    """
    merged = dict(defaults)
    for key, value in own.items():
        merged[key] = _merge_value(defaults[key], value) if key in defaults else value
    return merged


def _merge_value(defaults: object, own: object) -> object:
    if isinstance(defaults, list) and isinstance(own, list):
        return [*defaults, *own]
    if (
        isinstance(defaults, Mapping)
        and isinstance(own, Mapping)
        and not (is_intrinsic(defaults) or is_intrinsic(own))
    ):
        return merge_globals(defaults, own)
    return own


def _parameter_value(name: str, definition: Mapping[str, Any], raw: object) -> str | list[str]:
    kind = str(definition.get("Type", "String"))
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        items = raw if isinstance(raw, list) else as_text(raw).split(",")
        return [as_text(item).strip() for item in items]
    allowed = definition.get("AllowedValues")
    value = as_text(raw)
    if allowed is not None and value not in [as_text(option) for option in allowed]:
        raise TemplateError(f"parameter {name}: {value!r} is not one of {allowed!r}")
    return value


class Template:
    """A decoded SAM template; `resolver` evaluates its intrinsics for one local stack."""

    def __init__(self, path: Path, body: Mapping[str, Any]) -> None:
        self.path = path
        self.base_dir = path.parent
        self._body = body

    @classmethod
    def load(cls, path: Path) -> "Template":
        body, problems = decode(str(path))
        if problems or body is None:
            raise TemplateError(f"{path}: {'; '.join(str(p) for p in problems)}")
        return cls(path.resolve(), body)

    @property
    def outputs(self) -> Mapping[str, Any]:
        return dict(self._body.get("Outputs") or {})

    def parameter_names(self) -> set[str]:
        return set(self._body.get("Parameters") or {})

    def resolver(
        self,
        *,
        overrides: Mapping[str, str],
        region: str,
        stack_name: str,
        physical: Mapping[str, Physical],
    ) -> Resolver:
        """A resolver with the parameters' defaults replaced by `overrides`."""
        definitions: Mapping[str, Any] = self._body.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(definitions))
        if unknown:
            raise TemplateError(f"parameter overrides for undeclared parameters: {unknown}")
        parameters: dict[str, str | list[str]] = {}
        for name, definition in definitions.items():
            if name in overrides:
                raw: object = overrides[name]
            elif "Default" in definition:
                raw = definition["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default: pass it as an override")
            parameters[name] = _parameter_value(name, definition, raw)
        pseudo = {
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local"
            ),
        }
        return Resolver(
            parameters=parameters,
            pseudo_parameters=pseudo,
            conditions=self._body.get("Conditions") or {},
            physical=physical,
        )

    def resources(self, resolver: Resolver) -> list[Resource]:
        """The resources whose Condition holds, in template order, with Globals applied."""
        globals_: Mapping[str, Any] = self._body.get("Globals") or {}
        resources = []
        for logical_id, definition in (self._body.get("Resources") or {}).items():
            condition = definition.get("Condition")
            if condition is not None and not resolver.condition(condition):
                continue
            kind = str(definition["Type"])
            properties: Mapping[str, Any] = definition.get("Properties") or {}
            section = _GLOBALS_SECTIONS.get(kind)
            if section is not None and section in globals_:
                properties = merge_globals(globals_[section], properties)
            depends_on = definition.get("DependsOn") or []
            resources.append(
                Resource(
                    logical_id=str(logical_id),
                    type=kind,
                    properties=properties,
                    depends_on=tuple([depends_on] if isinstance(depends_on, str) else depends_on),
                )
            )
        return resources

    def globals_section(self, section: str) -> Mapping[str, Any]:
        """One section of SAM Globals (e.g. "Api" for the implicit API's defaults)."""
        globals_: Mapping[str, Any] = self._body.get("Globals") or {}
        return dict(globals_.get(section) or {})
