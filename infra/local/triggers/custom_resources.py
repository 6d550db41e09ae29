"""Custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`) as CloudFormation runs
them: a Create request to the ServiceToken function when the stack starts, a Delete when it
stops, each answered by a PUT to the request's ResponseURL.

The ResponseURL is a loopback endpoint standing in for S3's presigned URL; like S3 it refuses
a Content-Type the URL was not signed for (none). Property values that name one of the
template's APIs by its execute-api URL name the local API front instead: that is where the
API is served here.
"""

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from infra.local.aws import ACCOUNT_ID
from infra.local.runtime.runtime import Invocation
from infra.local.template.functions import FunctionSpec, HttpApiSpec
from infra.local.template.intrinsics import Physical, Resolver, TemplateError, as_text
from infra.local.template.template import Resource
from infra.simulators._http import ThreadedServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

type Invoke = Callable[[str, Any], Invocation]

CUSTOM_TYPE_PREFIXES = ("Custom::", "AWS::CloudFormation::CustomResource")
ASYNC_INVOKE_ATTEMPTS = 3


class CustomResourceFailed(Exception):
    """A custom resource answered FAILED, or never answered: the stack cannot start."""


@dataclass(frozen=True)
class CustomResource:
    logical_id: str
    type: str
    function_id: str  # the ServiceToken's function
    properties: Mapping[str, Any]  # resolved, ServiceToken included, as CloudFormation sends


def api_urls(apis: Iterable[HttpApiSpec], region: str, front_url: str) -> dict[str, str]:
    """Each API's execute-api base URL -> the local API front's."""
    return {api.url(region): front_url for api in apis}


def read_custom_resources(
    resources: Iterable[Resource],
    resolver: Resolver,
    functions: Iterable[FunctionSpec],
    local_urls: Mapping[str, str],
) -> list[CustomResource]:
    """The template's custom resources in template order, served by its own functions."""
    by_arn = {function.arn: function.logical_id for function in functions}
    custom = []
    for resource in resources:
        if not resource.type.startswith(CUSTOM_TYPE_PREFIXES):
            continue
        properties = resolver.resolve(resource.properties, resource.logical_id)
        token = as_text(properties.get("ServiceToken", ""))
        if token not in by_arn:
            raise TemplateError(
                f"{resource.logical_id}.ServiceToken: {token!r} is no function of this "
                "template; only those run locally"
            )
        custom.append(
            CustomResource(
                resource.logical_id,
                resource.type,
                by_arn[token],
                _localized(properties, local_urls),
            )
        )
    return custom


def _localized(value: Any, local_urls: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for remote, local in local_urls.items():
            value = value.replace(remote, local)
        return value
    if isinstance(value, Mapping):
        return {key: _localized(item, local_urls) for key, item in value.items()}
    if isinstance(value, list):
        return [_localized(item, local_urls) for item in value]
    return value


class _ResponseUrls:
    """The ResponseURLs: each takes one PUT of a JSON answer."""

    def __init__(self) -> None:
        self._server = ThreadedServer(self._app, name="custom-resource-answers")
        self._lock = threading.Lock()  # answers arrive on the server's threads
        self._answers: dict[str, dict[str, Any]] = {}

    def start(self, host: str) -> None:
        self._server.start(host, 0)

    def stop(self) -> None:
        self._server.stop()

    def new_url(self) -> tuple[str, str]:
        key = uuid.uuid4().hex
        return key, f"{self._server.url}/{key}"

    def take(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._answers.pop(key, None)

    def _app(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.method != "PUT":
            return Response(status=405)
        if request.headers.get("Content-Type", ""):
            # As S3 does: the presigned URL was signed without a content type.
            return Response("SignatureDoesNotMatch", status=403)
        try:
            answer = json.loads(request.get_data())
        except ValueError:
            return Response("not JSON", status=400)
        if not isinstance(answer, dict):
            return Response("not a JSON object", status=400)
        with self._lock:
            self._answers[request.path.strip("/")] = answer
        return Response(status=200)


class CustomResources:
    """Creates the custom resources, in template order, and deletes them, newest first."""

    def __init__(
        self, resources: list[CustomResource], invoke: Invoke, *, region: str, stack_name: str
    ) -> None:
        self._resources = resources
        self._invoke = invoke
        self._stack_id = f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local"
        self._urls = _ResponseUrls()
        self._created: list[tuple[CustomResource, str]] = []

    def create_all(self, host: str) -> dict[str, Physical]:
        """Create every resource; their physical ids, with their Data as attributes."""
        self._urls.start(host)
        physical = {}
        for resource in self._resources:
            answer = self._request(resource, "Create", None)
            physical_id = str(answer.get("PhysicalResourceId", ""))
            if answer.get("Status") != "SUCCESS" or not physical_id:
                raise CustomResourceFailed(
                    f"{resource.logical_id}: create failed: {answer.get('Reason', '')}"
                )
            self._created.append((resource, physical_id))
            data = answer.get("Data") or {}
            physical[resource.logical_id] = Physical(
                physical_id, {key: as_text(value) for key, value in data.items()}
            )
            logger.info(
                "custom resource created: logical_id=%s physical_id=%s",
                resource.logical_id,
                physical_id,
            )
        return physical

    def delete_all(self) -> None:
        """Delete what was created, as deleting the stack does; failures are only logged."""
        while self._created:
            resource, physical_id = self._created.pop()
            try:
                answer = self._request(resource, "Delete", physical_id)
            except CustomResourceFailed as error:
                logger.warning("custom resource not deleted: %s", error)
                continue
            if answer.get("Status") != "SUCCESS":
                logger.warning(
                    "custom resource not deleted: logical_id=%s reason=%s",
                    resource.logical_id,
                    answer.get("Reason"),
                )

    def stop(self) -> None:
        self._urls.stop()

    def _request(
        self, resource: CustomResource, request_type: str, physical_id: str | None
    ) -> dict[str, Any]:
        key, response_url = self._urls.new_url()
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": resource.properties.get("ServiceToken"),
            "ResponseURL": response_url,
            "StackId": self._stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": resource.logical_id,
            "ResourceType": resource.type,
            "ResourceProperties": dict(resource.properties),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        # CloudFormation invokes asynchronously: Lambda retries a failed invocation twice.
        for _ in range(ASYNC_INVOKE_ATTEMPTS):
            invocation = self._invoke(resource.function_id, event)
            answer = self._urls.take(key)
            if answer is not None:
                return answer
            if invocation.error is None:
                break
            logger.warning(
                "custom resource invocation failed: logical_id=%s error_type=%s",
                resource.logical_id,
                invocation.error.error_type,
            )
        error = invocation.error
        detail = f"{error.error_type}: {error.message}" if error else "the function returned"
        raise CustomResourceFailed(
            f"{resource.logical_id}: no answer at the ResponseURL ({detail})"
        )
