"""Tasks run in threads within one invocation, each thread carrying the invocation's X-Ray
segment (X-Ray keeps its context per thread: without it, a thread's AWS calls are traced
nowhere and the SDK logs an error for each)."""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from aws_xray_sdk.core import xray_recorder

from gateway.observability import tracer


def run_traced(tasks: Sequence[Callable[[], None]]) -> None:
    """Run every task at once; return when all ended, raising the first failure."""
    trace_entity = None if tracer.disabled else xray_recorder.get_trace_entity()

    def traced(task: Callable[[], None]) -> None:
        if trace_entity is None:
            task()
            return
        xray_recorder.set_trace_entity(trace_entity)
        try:
            task()
        finally:
            xray_recorder.clear_trace_entities()

    with ThreadPoolExecutor(max_workers=max(1, len(tasks)), thread_name_prefix="worker") as pool:
        for future in [pool.submit(traced, task) for task in tasks]:
            future.result()
