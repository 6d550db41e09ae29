"""layers/common/requirements.txt, generated from pyproject.toml (the one place dependencies
are declared). `--check` fails when the committed file is stale; `--write` regenerates it."""

import argparse
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "layers" / "common" / "requirements.txt"
# The Lambda runtime ships boto3 and botocore; bundling them only grows the layer.
PROVIDED_BY_RUNTIME = {"boto3", "botocore"}
HEADER = "# Generated from pyproject.toml by `make requirements`: do not edit.\n"


def _name(requirement: str) -> str:
    for stop in "[<>=!~; ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.lower()


def render() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [r for r in project["dependencies"] if _name(r) not in PROVIDED_BY_RUNTIME]
    return HEADER + "".join(f"{line}\n" for line in sorted(lines, key=_name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = parser.parse_args()
    expected = render()
    if args.write:
        TARGET.write_text(expected)
        return 0
    if not TARGET.exists() or TARGET.read_text() != expected:
        print(f"{TARGET.relative_to(ROOT)} is stale: run `make requirements`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
