"""The local stack: the whole gateway on this machine, without Docker.

Start order: moto's server (in a process of its own), the carrier simulators (their URLs are
template parameters), the template's data resources, the function workers, the API front, the
carriers' callbacks and credentials, the custom resources (the Orange receipt subscription),
the SQS pollers, the scheduler; then `<state_dir>/endpoints.json` and each function's configuration
in `<state_dir>/functions/`. `stop` deletes the custom resources, undoes the rest in reverse
and removes those files, which describe a running stack.
"""

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from cgw.endpoints import STACK_OUTPUTS
from infra.local.aws import AwsClients
from infra.local.carrier_credentials import ClientCredentials
from infra.local.moto.server import MotoProcess
from infra.local.runtime.carriers import CARRIERS, Carrier, Gateway
from infra.local.runtime.runtime import FunctionRuntime, Invocation
from infra.local.runtime.simulator_process import SimulatorProcess
from infra.local.template.functions import (
    FunctionSpec,
    HttpApiSpec,
    SqsEvent,
    StreamEvent,
    code_resources,
    read_apis,
    read_functions,
)
from infra.local.template.intrinsics import NO_VALUE, Physical, Resolver, as_text
from infra.local.template.resources import create_resources
from infra.local.template.template import Resource, Template
from infra.local.triggers.api import ApiFront, build_routes
from infra.local.triggers.custom_resources import CustomResources, api_urls, read_custom_resources
from infra.local.triggers.scheduler import Scheduler, build_schedules
from infra.local.triggers.sqs import SqsPoller, SqsSource
from infra.local.triggers.streams import StreamPoller, StreamSource
from infra.simulators._network import NetworkDelay

logger = logging.getLogger(__name__)

ENDPOINTS_FILE = "endpoints.json"
# Template outputs that endpoints.json repeats, under the names the CLI reads a deployed
# stack's by; the API front's own URL stands for the outputs naming API Gateway's.
OUTPUT_ENDPOINTS = {
    output: key for output, key in STACK_OUTPUTS.items() if key not in {"api_url", "mm7_url"}
}
JOIN_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class LocalStackOptions:
    template_path: Path = Path("template.yaml")
    host: str = "127.0.0.1"
    api_port: int = 3000  # 0 picks a free port, as for aws_port
    aws_port: int = 5000
    state_dir: Path = Path(".local")
    region: str = "eu-west-1"
    stack_name: str = "carrier-gateway-local"
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    # Seconds a received message stays hidden, instead of the queue's own (for quick retries).
    visibility_timeout: int | None = None
    # Schedules run this many times as often as on AWS (rate(5 minutes) -> every 30 s).
    schedule_speedup: float = 10.0
    # Every event on the bus also on a queue (events_queue_url). Off for load runs with no
    # reader: moto's SQS scans the whole queue on each send, so an unread queue slows it down.
    events_queue: bool = True
    # The network between the gateway and the carrier simulators the stack starts: each
    # request they serve is delayed both ways (e.g. NetworkDelay.realistic()). None: loopback.
    carrier_network: NetworkDelay | None = None
    # Client credentials per Orange account, used when Orange is outside the stack
    # (`OrangeApiUrl` overridden or ORANGE_API_URL set): its real API or a sandbox.
    orange_credentials: Mapping[str, ClientCredentials] = field(default_factory=dict)


def route_bus_to_queue(clients: AwsClients, bus: str) -> str:
    """Every event on the gateway's bus also lands on a queue, so that a local application
    (or a test) can read what a subscriber on AWS would get."""
    sqs, events = clients.sqs(), clients.events()
    queue_url = sqs.create_queue(QueueName=f"{bus}-local-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name="local-subscriber",
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["carrier-gateway"]}),
    )
    events.put_targets(
        Rule="local-subscriber", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    return queue_url


class LocalStack:
    """Runs the template's resources and functions locally; a context manager."""

    def __init__(self, options: LocalStackOptions | None = None) -> None:
        self.options = options or LocalStackOptions()
        self._moto: MotoProcess | None = None
        self._clients: AwsClients | None = None
        self._simulators: dict[str, SimulatorProcess[Any]] = {}
        self._runtime: FunctionRuntime | None = None
        self._api: ApiFront | None = None
        self._pollers: list[SqsPoller | StreamPoller] = []
        self._scheduler: Scheduler | None = None
        self._custom_resources: CustomResources | None = None
        self._endpoints: dict[str, Any] = {}

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what callers and tests use ---------------------------------------------------

    @property
    def endpoints(self) -> dict[str, Any]:
        """The contents of endpoints.json."""
        return dict(self._endpoints)

    @property
    def endpoints_path(self) -> Path:
        return self.options.state_dir / ENDPOINTS_FILE

    @property
    def logs_dir(self) -> Path:
        return self.options.state_dir / "logs"

    @property
    def clients(self) -> AwsClients:
        """boto3 clients (and `.session`) bound to the stack's moto server."""
        if self._clients is None:
            raise RuntimeError("local stack not started")
        return self._clients

    @property
    def functions(self) -> list[FunctionSpec]:
        """The template's functions as the stack runs them (resolved environment included)."""
        return self._require_runtime().functions

    @property
    def simulators(self) -> Mapping[str, SimulatorProcess[Any]]:
        """The running carrier simulators by carrier name (e.g. "orange")."""
        return dict(self._simulators)

    def simulator[T](self, kind: type[T]) -> T:
        """The running simulator of that class, e.g. `stack.simulator(OrangeSimulator)`: a proxy
        running its public methods in its process."""
        for process in self._simulators.values():
            if issubclass(process.kind, kind):
                return cast(T, process.simulator)
        raise LookupError(f"no {kind.__name__} running")

    @contextmanager
    def queue_sources_disabled(self, logical_id: str) -> Iterator[None]:
        """The function's SQS event sources invoke nothing within the block (as with their
        mappings disabled): what is queued meanwhile waits, a backlog for the function."""
        pollers = [
            p for p in self._pollers if isinstance(p, SqsPoller) and p.function_id == logical_id
        ]
        if not pollers:
            raise LookupError(f"{logical_id} has no SQS event source")
        for poller in pollers:
            poller.set_enabled(False)
        try:
            yield
        finally:
            for poller in pollers:
                poller.set_enabled(True)

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Invoke a function directly, as `sam local invoke` would."""
        return self._require_runtime().invoke(logical_id, event)

    def run_schedule(self, logical_id: str) -> list[Invocation]:
        """Fire the function's schedules now, without waiting for their interval."""
        if self._scheduler is None:
            raise RuntimeError("local stack not started")
        return self._scheduler.run_now(logical_id)

    def kill_in_flight(self, logical_id: str) -> int:
        """SIGKILL the function's workers that are mid-invocation; returns how many.

        Each killed invocation fails with Runtime.ExitError (an SQS batch is then not
        deleted, an API request gets a 500), and the next invocation gets a fresh worker.
        """
        return self._require_runtime().kill_in_flight(logical_id)

    def worker_pids(self) -> list[int]:
        return self._require_runtime().worker_pids()

    @property
    def moto_pid(self) -> int:
        """moto's process (AWS, for the functions): its CPU is the local stack's cost."""
        if self._moto is None:
            raise RuntimeError("local stack not started")
        return self._moto.pid

    def _require_runtime(self) -> FunctionRuntime:
        if self._runtime is None:
            raise RuntimeError("local stack not started")
        return self._runtime

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        # werkzeug logs every request moto and the simulators serve: every SQS poll.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        options = self.options
        template = Template.load(options.template_path)

        self._moto = MotoProcess(options.host, options.aws_port)
        host, port = self._moto.host, self._moto.port
        clients = self._clients = AwsClients(f"http://{host}:{port}", options.region)

        overrides = dict(options.parameter_overrides)
        carriers = self._start_carriers(template, overrides)
        resolver, physical, resources, apis, functions = self._deploy(template, overrides, clients)

        runtime = self._runtime = FunctionRuntime(
            functions,
            aws_endpoint_url=clients.endpoint_url,
            region=options.region,
            logs_dir=self.logs_dir,
        )
        runtime.start()
        self._api = ApiFront(build_routes(functions, apis, runtime.invoke, clients.sqs()))
        self._api.start(options.host, options.api_port)

        gateway = Gateway(self._api.url, clients, functions, options.orange_credentials)
        carrier_endpoints: dict[str, str] = {}
        for carrier, carrier_url in carriers:
            carrier_endpoints |= carrier.connect(carrier_url, gateway)

        # Before the triggers: the receipt subscription exists before the first send.
        custom = self._custom_resources = CustomResources(
            read_custom_resources(
                resources, resolver, functions, api_urls(apis, options.region, self._api.url)
            ),
            runtime.invoke,
            region=options.region,
            stack_name=options.stack_name,
        )
        physical.update(custom.create_all(options.host))

        self._start_triggers(functions, physical, runtime, clients)
        self._endpoints = {
            **self._build_endpoints(template, resolver, carrier_endpoints),
            # What each function runs with (the CLI reads the sender's rates there, as it
            # reads a deployed function's configuration).
            "function_environments": {f.logical_id: dict(f.environment) for f in functions},
        }
        if "event_bus" in self._endpoints and options.events_queue:
            self._endpoints["events_queue_url"] = route_bus_to_queue(
                clients, self._endpoints["event_bus"]
            )
        self._write_endpoints()
        logger.info(
            "local stack started: api_url=%s aws_endpoint_url=%s endpoints=%s",
            self._api.url,
            clients.endpoint_url,
            self.endpoints_path,
        )

    def _deploy(
        self, template: Template, overrides: Mapping[str, str], clients: AwsClients
    ) -> tuple[
        Resolver, dict[str, Physical], list[Resource], list[HttpApiSpec], list[FunctionSpec]
    ]:
        """Create the data resources in moto and resolve the APIs and functions against them."""
        options = self.options
        physical: dict[str, Physical] = {}
        resolver = template.resolver(
            overrides=overrides,
            region=options.region,
            stack_name=options.stack_name,
            physical=physical,
        )
        resources = template.resources(resolver)
        physical.update(code_resources(resources, resolver, options.region, options.stack_name))
        create_resources(resources, resolver, physical, clients, options.stack_name)
        apis = read_apis(resources, resolver, template.globals_section("HttpApi"))
        functions = read_functions(resources, resolver, physical, apis, template.base_dir)
        return resolver, physical, resources, list(apis.values()), functions

    def _start_triggers(
        self,
        functions: list[FunctionSpec],
        physical: Mapping[str, Physical],
        runtime: FunctionRuntime,
        clients: AwsClients,
    ) -> None:
        """The SQS and stream pollers and the scheduler, once everything they invoke is up."""
        options = self.options
        for function in functions:
            for event in function.events:
                if isinstance(event, SqsEvent):
                    queue_url = physical[event.queue_logical_id].ref
                    source = SqsSource(function.logical_id, event, queue_url)
                    self._pollers.append(
                        SqsPoller(source, runtime.invoke, clients, options.visibility_timeout)
                    )
                elif isinstance(event, StreamEvent):
                    stream = StreamSource(function.logical_id, event)
                    self._pollers.append(StreamPoller(stream, runtime.invoke, clients))
        for poller in self._pollers:
            poller.start()
        schedules = build_schedules(functions, options.region, options.stack_name)
        self._scheduler = Scheduler(
            schedules, runtime.invoke, options.region, options.schedule_speedup
        )
        self._scheduler.start()

    def _start_carriers(
        self, template: Template, overrides: dict[str, str]
    ) -> list[tuple[Carrier, str]]:
        """Start the simulators the template has a carrier URL parameter for; `overrides`
        gets their URLs and the loopback allowlists."""
        started = []
        parameters = template.parameter_names()
        for carrier in (factory() for factory in CARRIERS):
            if carrier.url_parameter not in parameters:
                continue
            outside_url = overrides.get(carrier.url_parameter) or os.environ.get(
                carrier.url_variable
            )
            if outside_url:
                carrier_url = outside_url
                logger.info(
                    "carrier outside the stack: carrier=%s url=%s", carrier.name, carrier_url
                )
            else:
                simulator = self._simulators[carrier.name] = carrier.start_simulator(
                    self.options.host, self.options.carrier_network
                )
                carrier_url = simulator.url
                logger.info(
                    "carrier simulator started: carrier=%s url=%s", carrier.name, carrier_url
                )
            overrides[carrier.url_parameter] = carrier_url
            for name, value in carrier.local_parameters.items():
                if name in parameters:
                    overrides.setdefault(name, value)
            started.append((carrier, carrier_url))
        return started

    def _build_endpoints(
        self, template: Template, resolver: Resolver, carrier_endpoints: Mapping[str, str]
    ) -> dict[str, str]:
        """endpoints.json: every key the CLI and the tests look the local stack up by."""
        if self._api is None or self._clients is None:
            raise RuntimeError("local stack not started")
        endpoints = {
            "api_url": self._api.url,
            "aws_endpoint_url": self._clients.endpoint_url,
            "region": self.options.region,
            "logs_dir": str(self.logs_dir.resolve()),
        }
        outputs = template.outputs
        for output, key in OUTPUT_ENDPOINTS.items():
            if output in outputs:
                value = resolver.resolve(outputs[output].get("Value"), f"Outputs.{output}")
                if value is not NO_VALUE:
                    endpoints[key] = as_text(value)
        return endpoints | dict(carrier_endpoints)

    def _write_endpoints(self) -> None:
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        staging = self.endpoints_path.with_suffix(".tmp")
        staging.write_text(json.dumps(self._endpoints, indent=2) + "\n")
        staging.replace(self.endpoints_path)  # readers never see a half-written file

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice or after a failed start."""
        self.endpoints_path.unlink(missing_ok=True)
        if self._custom_resources is not None:
            # As deleting the stack does (the Orange subscription is removed), while the
            # functions and simulators still run.
            self._custom_resources.delete_all()
            self._custom_resources.stop()
        for poller in self._pollers:
            poller.signal_stop()
        if self._scheduler is not None:
            self._scheduler.signal_stop()
        if self._api is not None:
            self._api.stop()
        if self._runtime is not None:
            self._runtime.stop()  # kills invocations in flight, so the loops below end
        for poller in self._pollers:
            poller.join(JOIN_TIMEOUT_SECONDS)
        if self._scheduler is not None:
            self._scheduler.join(JOIN_TIMEOUT_SECONDS)
        for simulator in self._simulators.values():
            simulator.stop()
        if self._moto is not None:
            self._moto.stop()
        self._pollers, self._simulators, self._endpoints = [], {}, {}
        self._moto = self._runtime = self._api = self._scheduler = None
        self._custom_resources = None
        logger.info("local stack stopped")
