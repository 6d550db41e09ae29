"""Benchmarks of the gateway: `python -m bench` (or `make bench`) runs them, writes
bench/results.json and regenerates docs/BENCHMARKS.md from it.

moto's request recorder (the DynamoDB request count in sender_throughput) reads where to
write when moto is first imported, so the path is set here, before any benchmark imports
moto; otherwise it would write `moto_recording` into the working directory.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault(
    "MOTO_RECORDER_FILEPATH",
    str(Path(tempfile.gettempdir()) / f"cgw-bench-moto-recording-{os.getpid()}.jsonl"),
)
