"""`python -m infra.local` (and `cgw local`, through `serve`): run the local stack until Ctrl-C
or SIGTERM."""

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from infra.local.arguments import add_stack_arguments, credentials_from
from infra.local.runtime.simulator_process import LOG_FORMAT
from infra.local.stack import LocalStack, LocalStackOptions
from infra.local.template.intrinsics import TemplateError

DEFAULTS = LocalStackOptions()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description="Run the whole gateway on this machine: moto, simulators, functions, API.",
    )
    parser.add_argument("--template", type=Path, default=DEFAULTS.template_path)
    parser.add_argument("--host", default=DEFAULTS.host)
    parser.add_argument("--api-port", type=int, default=DEFAULTS.api_port)
    parser.add_argument("--aws-port", type=int, default=DEFAULTS.aws_port)
    parser.add_argument("--state-dir", type=Path, default=DEFAULTS.state_dir)
    parser.add_argument("--region", default=DEFAULTS.region)
    add_stack_arguments(parser)
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=None,
        help="seconds before a failed message is redelivered (default: the queue's own)",
    )
    parser.add_argument(
        "--schedule-speedup",
        type=float,
        default=DEFAULTS.schedule_speedup,
        help="run schedules this many times as often as on AWS",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def _configure_logging(log_file: Path, level: str) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [
        logging.StreamHandler(),
        logging.FileHandler(log_file, mode="w"),
    ]
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)


def serve(options: LocalStackOptions, log_level: str = "INFO") -> int:
    """Run the local stack until Ctrl-C or SIGTERM, logging to the console and stack.log."""
    _configure_logging(options.state_dir / "logs" / "stack.log", log_level)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        with LocalStack(options) as stack:
            endpoints = stack.endpoints
            print(f"API            {endpoints['api_url']}")
            print(f"AWS (moto)     {endpoints['aws_endpoint_url']}")
            print(f"endpoints.json {stack.endpoints_path.resolve()}")
            print(f"logs           {stack.logs_dir.resolve()}")
            print("Ctrl-C stops the local stack.", flush=True)
            stopping.wait()
    except TemplateError as error:
        print(f"template error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = LocalStackOptions(
        template_path=args.template,
        host=args.host,
        api_port=args.api_port,
        aws_port=args.aws_port,
        state_dir=args.state_dir,
        region=args.region,
        parameter_overrides=dict(args.parameter_overrides),
        visibility_timeout=args.visibility_timeout,
        schedule_speedup=args.schedule_speedup,
        orange_credentials=credentials_from(args),
    )
    return serve(options, args.log_level)


if __name__ == "__main__":
    raise SystemExit(main())
