"""Each function's deployment package after `sam build`, against Lambda's limits.

From .aws-sam/build (made with `make build` first when missing): every function's folder and
the layers it uses, unzipped (the sum of the files' sizes) and zipped (deflate, as `sam
deploy` packages them); the layer's largest top-level packages; `.pyc` files shipped. Limits:
250 MB unzipped for a function and all its layers, 50 MB zipped for a direct upload (both in
MiB, as Lambda counts them). There is no smaller size for `--quick`: the build is measured as
it is, zipping each folder once.
"""

import logging
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.template_functions import BUILT_TEMPLATE, ROOT, template_functions

MIB = 1024 * 1024
UNZIPPED_LIMIT = 250 * MIB  # function and layers together
ZIPPED_LIMIT = 50 * MIB  # a zip uploaded directly
LARGEST = 6

logger = logging.getLogger(__name__)


def run(quick: bool = False) -> dict[str, Any]:
    del quick  # the build has one size
    if not BUILT_TEMPLATE.exists():
        logger.info("no sam build output: make build")
        subprocess.run(["make", "build"], cwd=ROOT, check=True)  # noqa: S607 - the Makefile's
    build_dir = BUILT_TEMPLATE.parent
    functions = template_functions(BUILT_TEMPLATE)
    folders = {f.code_dir for f in functions} | {d for f in functions for d in f.layer_dirs}
    with TemporaryDirectory(prefix="cgw-zip-") as work:
        sizes = {folder: folder_figures(folder, Path(work)) for folder in sorted(folders)}
    layers = {
        str(folder.relative_to(build_dir)): sizes[folder] | {"largest": largest_entries(folder)}
        for folder in sorted({d for f in functions for d in f.layer_dirs})
    }
    return {
        "limits": {"unzipped_bytes": UNZIPPED_LIMIT, "zipped_bytes": ZIPPED_LIMIT},
        "layers": layers,
        "functions": {
            f.logical_id: sizes[f.code_dir]
            | {
                "layers": [str(d.relative_to(build_dir)) for d in f.layer_dirs],
                "with_layers_unzipped_bytes": sum(
                    sizes[d]["unzipped_bytes"] for d in (f.code_dir, *f.layer_dirs)
                ),
            }
            for f in functions
        },
    }


def folder_figures(folder: Path, work_dir: Path) -> dict[str, int]:
    return {
        "unzipped_bytes": tree_bytes(folder),
        "zipped_bytes": zipped_bytes(folder, work_dir),
        "files": sum(1 for _ in _files(folder)),
        "pyc_files": sum(1 for path in _files(folder) if path.suffix == ".pyc"),
    }


def tree_bytes(folder: Path) -> int:
    """The files' sizes added up: what Lambda counts against the unzipped limit."""
    return sum(path.stat().st_size for path in _files(folder))


def zipped_bytes(folder: Path, work_dir: Path) -> int:
    """The size of `folder` zipped with deflate, paths relative to it (a zip in `work_dir`)."""
    archive = work_dir / f"{folder.name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in _files(folder):
            zipped.write(path, path.relative_to(folder))
    size = archive.stat().st_size
    archive.unlink()
    return size


def largest_entries(layer: Path) -> dict[str, int]:
    """The layer's biggest packages (unzipped bytes), largest first; metadata folders left out."""
    entries = [
        entry
        for root in sorted(p for p in layer.iterdir() if p.is_dir())  # python/ on Lambda's path
        for entry in root.iterdir()
        if not entry.name.endswith((".dist-info", ".data"))
    ]
    sizes = {
        entry.name: tree_bytes(entry) if entry.is_dir() else entry.stat().st_size
        for entry in entries
    }
    return dict(sorted(sizes.items(), key=lambda item: -item[1])[:LARGEST])


def _files(folder: Path) -> Iterator[Path]:
    """Every regular file under `folder`, in a stable order."""
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if path.is_file():
                yield path
