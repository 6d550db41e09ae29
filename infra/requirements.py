"""What is tested is what is shipped: requirements.lock (`make lock`, from pyproject.toml's
ranges) pins every version; the virtualenv is installed from it and the Lambda layer's
layers/common/requirements.txt is its runtime subset, exact pins.

`--write` regenerates the layer's requirements from the lock. `--check` fails when the lock
breaks a range of pyproject.toml or misses one of its packages, when the layer's requirements
are not the lock's runtime subset, or when this virtualenv's installed versions are not the
lock's."""

import argparse
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
TARGET = ROOT / "layers" / "common" / "requirements.txt"
PROJECT = "carrier-gateway"
# The Lambda runtime ships boto3 and what it needs; a copy in the layer would shadow the
# runtime's (botocore alone is 20 MB) and slow the cold start.
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath"}
HEADER = "# The runtime subset of requirements.lock, by `make requirements`: do not edit.\n"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?:\s*;\s*(?P<marker>.+))?$")
_VIA = re.compile(r"^\s+#\s+(?:via\s+|  )(?P<parent>[A-Za-z0-9._-]+)")


def _canonical(name: str) -> str:
    return str(canonicalize_name(name))


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    line: str  # as in the lock, marker included
    marker: Marker | None
    via: frozenset[str]  # the packages (canonical names) that require it

    def applies(self) -> bool:
        """Whether this interpreter and platform install it (a marker may rule it out)."""
        return self.marker is None or self.marker.evaluate()


def read_lock(text: str) -> dict[str, Pin]:
    """The lock's pins by canonical name, each with the packages that pull it in (uv's
    `# via` annotations)."""
    entries: list[tuple[re.Match[str], set[str]]] = []
    for line in text.splitlines():
        if pin := _PIN.match(line):
            entries.append((pin, set()))
        elif entries and (parent := _VIA.match(line)):
            entries[-1][1].add(_canonical(parent["parent"]))
    pins: dict[str, Pin] = {}
    for match, parents in entries:
        name = _canonical(match["name"])
        marker = Marker(match["marker"]) if match["marker"] else None
        pins[name] = Pin(name, match["version"], match[0], marker, frozenset(parents))
    return pins


def project_requirements() -> dict[str, list[Requirement]]:
    """pyproject.toml's requirements by group: "runtime" and each extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"runtime": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(r) for r in lines] for group, lines in groups.items()}


def runtime_subset(pins: Mapping[str, Pin], roots: Iterable[str]) -> list[Pin]:
    """What the layer ships: the runtime requirements and everything they pull in, boto3's
    family and what only it pulls in excepted."""
    kept = {_canonical(r) for r in roots} - PROVIDED_BY_RUNTIME
    grown = True
    while grown:
        found = {n for n, pin in pins.items() if pin.via & kept} - PROVIDED_BY_RUNTIME
        grown = not found <= kept
        kept |= found
    return sorted((pins[n] for n in kept if n in pins), key=lambda pin: pin.name)


def render(pins: Mapping[str, Pin]) -> str:
    roots = [r.name for r in project_requirements()["runtime"]]
    return HEADER + "".join(f"{pin.line}\n" for pin in runtime_subset(pins, roots))


def range_problems(pins: Mapping[str, Pin]) -> list[str]:
    """pyproject.toml's requirements the lock misses or pins outside their range."""
    problems = []
    for group, requirements in project_requirements().items():
        for requirement in requirements:
            name = _canonical(requirement.name)
            if name == PROJECT or (requirement.marker and not requirement.marker.evaluate()):
                continue
            pin = pins.get(name)
            if pin is None:
                problems.append(f"{requirement} ({group}) is not in the lock")
            elif not requirement.specifier.contains(Version(pin.version), prereleases=True):
                problems.append(f"{requirement} ({group}): the lock has {pin.version}")
    return problems


def installed_problems(pins: Mapping[str, Pin]) -> list[str]:
    """Where this virtualenv's packages differ from the lock."""
    problems = []
    for pin in pins.values():
        if not pin.applies():
            continue
        try:
            installed = importlib.metadata.version(pin.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{pin.name}: locked {pin.version}, not installed")
            continue
        if Version(installed) != Version(pin.version):
            problems.append(f"{pin.name}: locked {pin.version}, installed {installed}")
    return problems


def check(pins: Mapping[str, Pin]) -> list[str]:
    problems = [f"requirements.lock: {p} (`make lock`)" for p in range_problems(pins)]
    if not TARGET.exists() or TARGET.read_text() != render(pins):
        problems.append(f"{TARGET.relative_to(ROOT)} is stale (`make requirements`)")
    problems += [f"virtualenv: {p} (`make venv`)" for p in installed_problems(pins)]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = parser.parse_args()
    pins = read_lock(LOCK.read_text())
    if args.write:
        TARGET.write_text(render(pins))
        return 0
    problems = check(pins)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
