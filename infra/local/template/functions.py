"""The template's functions and APIs, with what the local stack needs to run and trigger them."""

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.aws import ACCOUNT_ID
from infra.local.template.intrinsics import Physical, Resolver, TemplateError, as_flag, as_text
from infra.local.template.template import Resource

logger = logging.getLogger(__name__)

FUNCTION = "AWS::Serverless::Function"
HTTP_API = "AWS::Serverless::HttpApi"
LAYER = "AWS::Serverless::LayerVersion"
# SAM's name for the HTTP API it creates for HttpApi events that name no ApiId.
IMPLICIT_API = "ServerlessHttpApi"
# The stage SAM gives an HTTP API without StageName: served at the API's root.
DEFAULT_STAGE = "$default"
# The route that catches what no other route does.
DEFAULT_ROUTE = "$default"
PAYLOAD_FORMAT_VERSION = "2.0"  # the only Lambda payload format emulated
# API Gateway's account-level throttle, for route settings that set only one of the limits.
ACCOUNT_RATE_LIMIT = 10000.0
ACCOUNT_BURST_LIMIT = 5000
# OpenAPI operations of a DefinitionBody path; API Gateway's own key stands for ANY.
ANY_METHOD_OPERATION = "x-amazon-apigateway-any-method"
_OPERATIONS = {"get", "put", "post", "delete", "options", "head", "patch", ANY_METHOD_OPERATION}
# Pool size for API and schedule triggers, and for SQS sources without MaximumConcurrency.
DEFAULT_CONCURRENCY = 4
# Lambda's defaults when the template leaves them out.
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY_SIZE = 128
DEFAULT_SQS_BATCH_SIZE = 10
DEFAULT_STREAM_BATCH_SIZE = 100


def route_key(method: str, path: str) -> str:
    """API Gateway's name for a route: "POST /callbacks/mm7", or "$default"."""
    return DEFAULT_ROUTE if path == DEFAULT_ROUTE else f"{method.upper()} {path}"


@dataclass(frozen=True)
class Throttle:
    """A route's limits: `burst_limit` requests at once, refilled at `rate_limit` a second."""

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class SqsSendMessage:
    """A route API Gateway serves itself: SQS SendMessage (integrationSubtype SQS-SendMessage)
    with its requestParameters, mapping expressions such as `$request.body` left unevaluated."""

    route_key: str
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class HttpApiSpec:
    logical_id: str
    api_id: str
    stage_name: str
    default_throttle: Throttle | None  # DefaultRouteSettings
    route_throttles: Mapping[str, Throttle]  # RouteSettings by route key, defaults filled in
    sqs_routes: tuple[SqsSendMessage, ...]  # from DefinitionBody

    def throttle(self, key: str) -> Throttle | None:
        """The limits of the route `key` (route settings over default settings)."""
        return self.route_throttles.get(key, self.default_throttle)

    def url(self, region: str) -> str:
        """The stage's execute-api base URL (a $default stage is served at the root)."""
        endpoint = _api_endpoint(self.api_id, region)
        return endpoint if self.stage_name == DEFAULT_STAGE else f"{endpoint}/{self.stage_name}"


@dataclass(frozen=True)
class HttpApiEvent:
    name: str
    api: HttpApiSpec
    route_key: str  # "GET /messages/{id}"; "ANY ..." matches every method
    authorizer: str | None  # e.g. "AWS_IAM"; not enforced locally


@dataclass(frozen=True)
class SqsEvent:
    name: str
    queue_logical_id: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    maximum_concurrency: int


@dataclass(frozen=True)
class ScheduleEvent:
    name: str
    expression: str  # rate(...) or cron(...)
    input: str | None  # the JSON text sent instead of the Scheduled Event


@dataclass(frozen=True)
class StreamEvent:
    """A DynamoDB stream event source."""

    name: str
    table_logical_id: str
    stream_arn: str
    starting_position: str  # TRIM_HORIZON or LATEST
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    maximum_retry_attempts: int  # -1: until the record expires
    filter_patterns: tuple[Mapping[str, Any], ...]  # a record passes if any matches


type FunctionEvent = HttpApiEvent | SqsEvent | ScheduleEvent | StreamEvent


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    timeout: int
    memory_size: int
    environment: Mapping[str, str]
    layer_dirs: tuple[Path, ...]
    events: tuple[FunctionEvent, ...]

    @property
    def concurrency(self) -> int:
        """Workers to keep: every SQS source's concurrency, one per stream (its one shard is
        processed in order), plus a few for other triggers."""
        sqs = sum(e.maximum_concurrency for e in self.events if isinstance(e, SqsEvent))
        streams = sum(1 for e in self.events if isinstance(e, StreamEvent))
        others = any(isinstance(e, HttpApiEvent | ScheduleEvent) for e in self.events)
        return sqs + streams + (DEFAULT_CONCURRENCY if others or not self.events else 0)


def _api_id(logical_id: str) -> str:
    # A stable stand-in for API Gateway's random 10-character id.
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


def _api_endpoint(api_id: str, region: str) -> str:
    return f"https://{api_id}.execute-api.{region}.amazonaws.com"


def _stage_name(properties: Mapping[str, Any], resolver: Resolver, where: str) -> str:
    return as_text(
        resolver.resolve(properties.get("StageName", DEFAULT_STAGE), f"{where}.StageName")
    )


def code_resources(
    resources: Iterable[Resource], resolver: Resolver, region: str, stack_name: str
) -> dict[str, Physical]:
    """Physical ids of functions, layers and APIs, so data resources and env can refer to them."""
    physical: dict[str, Physical] = {IMPLICIT_API: Physical(_api_id(IMPLICIT_API))}
    for resource in resources:
        where = resource.logical_id
        if resource.type == FUNCTION:
            name = resource.properties.get("FunctionName") or f"{stack_name}-{where}"
            name = as_text(resolver.resolve(name, f"{where}.FunctionName"))
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
            physical[where] = Physical(name, {"Arn": arn})
        elif resource.type == LAYER:
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:layer:{stack_name}-{where}:1"
            physical[where] = Physical(arn)
        elif resource.type == HTTP_API:
            api_id = _api_id(where)
            # Stage: SAM's `Api.Stage` reference (the stage's name), as `${Api.Stage}` in a Sub.
            attributes = {
                "ApiEndpoint": _api_endpoint(api_id, region),
                "Stage": _stage_name(resource.properties, resolver, where),
            }
            physical[where] = Physical(api_id, attributes)
    return physical


def read_apis(
    resources: Iterable[Resource], resolver: Resolver, implicit_defaults: Mapping[str, Any]
) -> dict[str, HttpApiSpec]:
    """Every AWS::Serverless::HttpApi, plus SAM's implicit one (Globals.HttpApi applied)."""
    apis = {IMPLICIT_API: _api_spec(IMPLICIT_API, implicit_defaults, resolver)}
    for resource in resources:
        if resource.type == HTTP_API:
            apis[resource.logical_id] = _api_spec(
                resource.logical_id, resource.properties, resolver
            )
    return apis


def _api_spec(logical_id: str, properties: Mapping[str, Any], resolver: Resolver) -> HttpApiSpec:
    where = logical_id
    defaults = resolver.resolve(
        properties.get("DefaultRouteSettings", {}), f"{where}.DefaultRouteSettings"
    )
    per_route = resolver.resolve(properties.get("RouteSettings", {}), f"{where}.RouteSettings")
    # A route's settings replace the defaults key by key, as a stage's route settings do.
    route_throttles = {
        str(key): throttle
        for key, settings in per_route.items()
        if (throttle := _throttle({**defaults, **settings})) is not None
    }
    return HttpApiSpec(
        logical_id=logical_id,
        api_id=_api_id(logical_id),
        stage_name=_stage_name(properties, resolver, where),
        default_throttle=_throttle(defaults),
        route_throttles=route_throttles,
        sqs_routes=_sqs_routes(properties.get("DefinitionBody"), resolver, where),
    )


def _throttle(settings: Mapping[str, Any]) -> Throttle | None:
    if "ThrottlingRateLimit" not in settings and "ThrottlingBurstLimit" not in settings:
        return None
    return Throttle(
        rate_limit=float(as_text(settings.get("ThrottlingRateLimit", ACCOUNT_RATE_LIMIT))),
        burst_limit=int(as_text(settings.get("ThrottlingBurstLimit", ACCOUNT_BURST_LIMIT))),
    )


def _sqs_routes(body: object, resolver: Resolver, where: str) -> tuple[SqsSendMessage, ...]:
    """The DefinitionBody's SQS-SendMessage routes. Operations without an integration get
    theirs from function events (SAM merges those in); any other integration is skipped."""
    paths: Mapping[str, Any] = (body.get("paths") or {}) if isinstance(body, Mapping) else {}
    routes = []
    for path, operations in paths.items():
        for operation, spec in operations.items():
            if operation not in _OPERATIONS:  # e.g. the path's parameters
                continue
            integration = spec.get("x-amazon-apigateway-integration")
            if integration is None:
                continue
            method = "ANY" if operation == ANY_METHOD_OPERATION else operation
            key = route_key(method, str(path))
            if integration.get("integrationSubtype") != "SQS-SendMessage":
                logger.warning(
                    "route integration not emulated locally, skipped: api=%s route=%s", where, key
                )
                continue
            parameters = resolver.resolve(
                integration.get("requestParameters", {}), f"{where}.DefinitionBody {key}"
            )
            routes.append(
                SqsSendMessage(key, {name: as_text(value) for name, value in parameters.items()})
            )
    return tuple(routes)


def read_functions(
    resources: Iterable[Resource],
    resolver: Resolver,
    physical: Mapping[str, Physical],
    apis: Mapping[str, HttpApiSpec],
    base_dir: Path,
) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function with its properties resolved."""
    resources = list(resources)
    layer_dirs = {
        r.logical_id: _directory(
            base_dir, r.properties.get("ContentUri"), f"{r.logical_id}.ContentUri", resolver
        )
        for r in resources
        if r.type == LAYER
    }
    reader = _FunctionReader(resolver, apis, layer_dirs, base_dir)
    return [
        reader.read(resource, physical[resource.logical_id])
        for resource in resources
        if resource.type == FUNCTION
    ]


def _directory(base_dir: Path, uri: object, where: str, resolver: Resolver) -> Path:
    value = resolver.resolve(uri, where)
    if not isinstance(value, str):
        raise TemplateError(f"{where}: only a local directory can run locally, got {value!r}")
    directory = (base_dir / value).resolve()
    if not directory.is_dir():
        raise TemplateError(f"{where}: {directory} is not a directory")
    return directory


class _FunctionReader:
    def __init__(
        self,
        resolver: Resolver,
        apis: Mapping[str, HttpApiSpec],
        layer_dirs: Mapping[str, Path],
        base_dir: Path,
    ) -> None:
        self._resolver = resolver
        self._apis = apis
        self._layer_dirs = layer_dirs
        self._base_dir = base_dir

    def _value(self, properties: Mapping[str, Any], key: str, where: str, default: object) -> Any:
        return self._resolver.resolve(properties.get(key, default), f"{where}.{key}")

    def read(self, resource: Resource, physical: Physical) -> FunctionSpec:
        where, properties = resource.logical_id, resource.properties
        if properties.get("PackageType", "Zip") != "Zip":
            raise TemplateError(f"{where}: only Zip functions run locally")
        runtime = as_text(self._value(properties, "Runtime", where, ""))
        if not runtime.startswith("python"):
            raise TemplateError(f"{where}: runtime {runtime!r} cannot run locally (python only)")
        variables = self._value(properties, "Environment", where, {}).get("Variables", {})
        events = properties.get("Events") or {}
        return FunctionSpec(
            logical_id=where,
            name=physical.ref,
            arn=physical.attributes["Arn"],
            code_dir=_directory(
                self._base_dir, properties.get("CodeUri"), f"{where}.CodeUri", self._resolver
            ),
            handler=as_text(self._value(properties, "Handler", where, "")),
            timeout=int(as_text(self._value(properties, "Timeout", where, DEFAULT_TIMEOUT))),
            memory_size=int(
                as_text(self._value(properties, "MemorySize", where, DEFAULT_MEMORY_SIZE))
            ),
            environment={name: as_text(value) for name, value in variables.items()},
            layer_dirs=self._layers(properties.get("Layers") or [], where),
            events=tuple(
                event
                for name, definition in events.items()
                if (event := self._event(f"{where}.Events.{name}", name, definition)) is not None
            ),
        )

    def _layers(self, layers: list[Any], where: str) -> tuple[Path, ...]:
        # Layers built from this template's folders are on the worker's path, as /opt/python is
        # on Lambda's; layers given as ARNs cannot be fetched without AWS.
        dirs = []
        for layer in layers:
            name = layer.get("Ref", "") if isinstance(layer, Mapping) else ""
            if name in self._layer_dirs:
                dirs.append(self._layer_dirs[name])
            else:
                logger.warning(
                    "layer not available locally, skipped: function=%s layer=%r", where, layer
                )
        return tuple(dirs)

    def _event(self, where: str, name: str, definition: Mapping[str, Any]) -> FunctionEvent | None:
        kind = definition.get("Type")
        properties: Mapping[str, Any] = definition.get("Properties") or {}
        if kind == "HttpApi":
            return self._http_api_event(where, name, properties)
        if kind == "SQS":
            return self._sqs_event(where, name, properties)
        if kind in ("Schedule", "ScheduleV2"):
            return self._schedule_event(where, name, properties)
        if kind == "DynamoDB":
            return self._stream_event(where, name, properties)
        logger.warning("event type not emulated locally, skipped: event=%s type=%s", where, kind)
        return None

    def _http_api_event(self, where: str, name: str, properties: Mapping[str, Any]) -> HttpApiEvent:
        api_ref = properties.get("ApiId", {"Ref": IMPLICIT_API})
        api = self._apis.get(api_ref.get("Ref", "") if isinstance(api_ref, Mapping) else "")
        if api is None:
            raise TemplateError(f"{where}.ApiId: expected a Ref to an AWS::Serverless::HttpApi")
        version = as_text(
            self._value(properties, "PayloadFormatVersion", where, PAYLOAD_FORMAT_VERSION)
        )
        if version != PAYLOAD_FORMAT_VERSION:
            raise TemplateError(
                f"{where}.PayloadFormatVersion: only {PAYLOAD_FORMAT_VERSION} is emulated locally"
            )
        path = self._value(properties, "Path", where, None)
        method = self._value(properties, "Method", where, None)
        if (path is None) != (method is None):
            raise TemplateError(f"{where}: Path and Method go together (neither: $default)")
        auth = self._resolver.resolve(properties.get("Auth", {}), f"{where}.Auth")
        authorizer = auth.get("Authorizer")
        return HttpApiEvent(
            name=name,
            api=api,
            route_key=DEFAULT_ROUTE if path is None else route_key(as_text(method), as_text(path)),
            authorizer=None if authorizer in (None, "NONE") else as_text(authorizer),
        )

    def _sqs_event(self, where: str, name: str, properties: Mapping[str, Any]) -> SqsEvent | None:
        if not as_flag(self._value(properties, "Enabled", where, True)):
            logger.info("disabled event source skipped: event=%s", where)
            return None
        queue_arn = as_text(self._value(properties, "Queue", where, ""))
        queue_logical_id = self._resolver.owner_of_arn(queue_arn)
        if queue_logical_id is None:
            raise TemplateError(f"{where}.Queue: {queue_arn} is not a queue of this template")
        scaling = self._value(properties, "ScalingConfig", where, {})
        response_types = self._value(properties, "FunctionResponseTypes", where, [])
        return SqsEvent(
            name=name,
            queue_logical_id=queue_logical_id,
            queue_arn=queue_arn,
            batch_size=int(
                as_text(self._value(properties, "BatchSize", where, DEFAULT_SQS_BATCH_SIZE))
            ),
            batching_window_seconds=float(
                as_text(self._value(properties, "MaximumBatchingWindowInSeconds", where, 0))
            ),
            report_batch_item_failures="ReportBatchItemFailures" in response_types,
            maximum_concurrency=int(
                as_text(scaling.get("MaximumConcurrency", DEFAULT_CONCURRENCY))
            ),
        )

    def _stream_event(
        self, where: str, name: str, properties: Mapping[str, Any]
    ) -> StreamEvent | None:
        if not as_flag(self._value(properties, "Enabled", where, True)):
            logger.info("disabled event source skipped: event=%s", where)
            return None
        stream_arn = as_text(self._value(properties, "Stream", where, ""))
        table_logical_id = self._resolver.owner_of_arn(stream_arn, attribute="StreamArn")
        if table_logical_id is None:
            raise TemplateError(f"{where}.Stream: {stream_arn} is not a stream of this template")
        filters = self._value(properties, "FilterCriteria", where, {}).get("Filters", [])
        response_types = self._value(properties, "FunctionResponseTypes", where, [])
        return StreamEvent(
            name=name,
            table_logical_id=table_logical_id,
            stream_arn=stream_arn,
            starting_position=as_text(self._value(properties, "StartingPosition", where, "")),
            batch_size=int(
                as_text(self._value(properties, "BatchSize", where, DEFAULT_STREAM_BATCH_SIZE))
            ),
            batching_window_seconds=float(
                as_text(self._value(properties, "MaximumBatchingWindowInSeconds", where, 0))
            ),
            report_batch_item_failures="ReportBatchItemFailures" in response_types,
            maximum_retry_attempts=int(
                as_text(self._value(properties, "MaximumRetryAttempts", where, -1))
            ),
            filter_patterns=tuple(json.loads(as_text(f["Pattern"])) for f in filters),
        )

    def _schedule_event(
        self, where: str, name: str, properties: Mapping[str, Any]
    ) -> ScheduleEvent | None:
        enabled = as_flag(self._value(properties, "Enabled", where, True))
        if not enabled or self._value(properties, "State", where, "ENABLED") == "DISABLED":
            logger.info("disabled event source skipped: event=%s", where)
            return None
        # Schedule names it Schedule, ScheduleV2 (EventBridge Scheduler) ScheduleExpression.
        expression = properties.get("Schedule", properties.get("ScheduleExpression"))
        schedule_input = self._value(properties, "Input", where, None)
        return ScheduleEvent(
            name=name,
            expression=as_text(self._resolver.resolve(expression, f"{where}.Schedule")),
            input=None if schedule_input is None else as_text(schedule_input),
        )
