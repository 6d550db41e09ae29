"""CloudFormation intrinsic functions and conditions, evaluated as CloudFormation would.

Supported: Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Split, Fn::Select, Fn::If, and in
Conditions Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition. Anything else raises
TemplateError naming the construct and where it is, so the local stack refuses to start
rather than hand a function an unevaluated value.
"""

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final


class TemplateError(Exception):
    """The template uses something the local stack cannot evaluate, or is inconsistent."""


@dataclass(frozen=True)
class Physical:
    """What CloudFormation knows of a created resource: Ref's value and GetAtt's attributes."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


class _NoValue:
    """AWS::NoValue: the property it stands for is removed from its parent."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")


def as_text(value: object) -> str:
    """A resolved scalar as CloudFormation passes it to a resource: YAML booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"expected a string, number or boolean, got {value!r}")


def as_flag(value: object) -> bool:
    """A resolved boolean property, whether YAML gave a boolean or a parameter gave text."""
    return as_text(value).lower() == "true"


def is_intrinsic(node: object) -> bool:
    """Whether `node` is an intrinsic function call such as `{"Ref": "X"}`."""
    return _intrinsic(node) is not None


def _intrinsic(node: object) -> tuple[str, Any] | None:
    """`{"Fn::X": args}` -> ("Fn::X", args); None for a plain value."""
    if isinstance(node, Mapping) and len(node) == 1:
        (name, args), *_ = node.items()
        if name == "Ref" or name.startswith("Fn::"):
            return str(name), args
    return None


def _sub_parts(args: object) -> tuple[str, Mapping[str, Any]]:
    if isinstance(args, str):
        return args, {}
    if isinstance(args, list) and len(args) == 2:
        text, variables = args
        if isinstance(text, str) and isinstance(variables, Mapping):
            return text, variables
    raise TemplateError(f"Fn::Sub expects a string or [string, {{variables}}], got {args!r}")


def _get_att_parts(args: object) -> tuple[str, str]:
    if isinstance(args, str) and "." in args:
        logical_id, attribute = args.split(".", 1)
        return logical_id, attribute
    if isinstance(args, list) and len(args) == 2 and all(isinstance(a, str) for a in args):
        return args[0], args[1]
    raise TemplateError(f"Fn::GetAtt expects [LogicalId, Attribute], got {args!r}")


def referenced_names(node: object) -> set[str]:
    """Every name a value refers to through Ref, Fn::GetAtt or Fn::Sub (resources or not)."""
    names: set[str] = set()
    for name, args in _walk_intrinsics(node):
        if name == "Ref" and isinstance(args, str):
            names.add(args)
        elif name == "Fn::GetAtt":
            names.add(_get_att_parts(args)[0])
        elif name == "Fn::Sub":
            text, variables = _sub_parts(args)
            for variable in _SUB_VARIABLE.findall(text):
                if not variable.startswith("!") and variable not in variables:
                    names.add(variable.split(".", 1)[0])
    return names


def _walk_intrinsics(node: object) -> Iterator[tuple[str, Any]]:
    intrinsic = _intrinsic(node)
    if intrinsic is not None:
        yield intrinsic
    if isinstance(node, Mapping):
        for value in node.values():
            yield from _walk_intrinsics(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_intrinsics(item)


class Resolver:
    """Evaluates intrinsics against parameter values, pseudo parameters and created resources.

    `physical` is read at each evaluation, so resources registered after the resolver was
    built (created in dependency order) are visible to later evaluations.
    """

    def __init__(
        self,
        *,
        parameters: Mapping[str, str | list[str]],
        pseudo_parameters: Mapping[str, str],
        conditions: Mapping[str, Any],
        physical: Mapping[str, Physical],
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo_parameters
        self._conditions = conditions
        self._physical = physical
        self._condition_values: dict[str, bool] = {}
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::Sub": self._sub,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Split": self._split,
            "Fn::Select": self._select,
            "Fn::If": self._if,
        }

    def resolve(self, node: object, where: str) -> Any:
        """The value of `node` with every intrinsic evaluated; NO_VALUE when it is removed."""
        try:
            return self._resolve(node)
        except TemplateError as error:
            raise TemplateError(f"{where}: {error}") from error

    def condition(self, name: str) -> bool:
        """The value of a named condition of the template's Conditions section."""
        if name not in self._condition_values:
            if name not in self._conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._condition_values[name] = self._evaluate_condition(self._conditions[name])
        return self._condition_values[name]

    def owner_of_arn(self, arn: str, attribute: str = "Arn") -> str | None:
        """The logical id of the created resource whose `attribute` (an ARN) is `arn`."""
        for logical_id, physical in self._physical.items():
            if physical.attributes.get(attribute) == arn:
                return logical_id
        return None

    def _resolve(self, node: object) -> Any:
        intrinsic = _intrinsic(node)
        if intrinsic is not None:
            name, args = intrinsic
            function = self._functions.get(name)
            if function is None:
                raise TemplateError(f"{name} is not supported by the local stack")
            return function(args)
        if isinstance(node, Mapping):
            resolved = {key: self._resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value is not NO_VALUE}
        if isinstance(node, list):
            items = [self._resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        return node

    def _text(self, node: object) -> str:
        return as_text(self._resolve(node))

    def _ref(self, name: object) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"Ref expects a name, got {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._parameters:
            return self._parameters[name]
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._physical:
            return self._physical[name].ref
        raise TemplateError(f"Ref {name}: no such parameter, or a resource not created locally")

    def _get_att(self, args: object) -> str:
        logical_id, attribute = _get_att_parts(args)
        physical = self._physical.get(logical_id)
        if physical is None:
            raise TemplateError(
                f"Fn::GetAtt {logical_id}.{attribute}: resource not created locally"
            )
        if attribute not in physical.attributes:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute}: attribute not available")
        return physical.attributes[attribute]

    def _sub(self, args: object) -> str:
        text, variables = _sub_parts(args)
        values = {name: self._text(value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable.startswith("!"):  # ${!Literal} stands for the text ${Literal}
                return "${" + variable[1:] + "}"
            if variable in values:
                return values[variable]
            if "." in variable:
                return self._get_att(variable)
            return as_text(self._ref(variable))

        return _SUB_VARIABLE.sub(substitute, text)

    def _join(self, args: object) -> str:
        if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)):
            raise TemplateError(f"Fn::Join expects [delimiter, [values]], got {args!r}")
        values = self._resolve(args[1])
        if not isinstance(values, list):
            raise TemplateError(f"Fn::Join expects a list of values, got {values!r}")
        return args[0].join(as_text(value) for value in values)

    def _split(self, args: object) -> list[str]:
        if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)):
            raise TemplateError(f"Fn::Split expects [delimiter, string], got {args!r}")
        return self._text(args[1]).split(args[0])

    def _select(self, args: object) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            raise TemplateError(f"Fn::Select expects [index, [values]], got {args!r}")
        index, values = int(self._text(args[0])), self._resolve(args[1])
        if not isinstance(values, list) or not 0 <= index < len(values):
            raise TemplateError(f"Fn::Select index {index} out of range of {values!r}")
        return values[index]

    def _if(self, args: object) -> Any:
        if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)):
            raise TemplateError(f"Fn::If expects [condition, when true, when false], got {args!r}")
        return self._resolve(args[1] if self.condition(args[0]) else args[2])

    def _evaluate_condition(self, node: object) -> bool:
        if isinstance(node, Mapping) and len(node) == 1:
            (name, args), *_ = node.items()
            if name in _CONDITION_FUNCTIONS:
                return self._condition_function(str(name), args)
        raise TemplateError(f"unsupported condition {node!r}")

    def _condition_function(self, name: str, args: Any) -> bool:
        if name == "Condition":
            return self.condition(args)
        if name == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
            return self._text(args[0]) == self._text(args[1])
        if name == "Fn::Not" and isinstance(args, list) and len(args) == 1:
            return not self._evaluate_condition(args[0])
        if name == "Fn::And" and isinstance(args, list):
            return all(self._evaluate_condition(arg) for arg in args)
        if name == "Fn::Or" and isinstance(args, list):
            return any(self._evaluate_condition(arg) for arg in args)
        raise TemplateError(f"{name}: malformed arguments {args!r}")
