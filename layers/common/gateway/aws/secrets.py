"""Secrets Manager through powertools' Parameters utility: JSON secrets cached per container
for `max_age` seconds, so a warm sender does not call Secrets Manager per message."""

from typing import Any, cast

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from gateway.aws.clients import BOTO_CONFIG


class SecretStore:
    def __init__(self, provider: SecretsProvider | None = None) -> None:
        self._provider_instance = provider

    @property
    def _provider(self) -> SecretsProvider:
        # Built on first use: the boto3 client must see the environment of the invocation.
        if self._provider_instance is None:
            self._provider_instance = SecretsProvider(boto_config=BOTO_CONFIG)
        return self._provider_instance

    def read_json(self, name: str, *, max_age: int, force: bool = False) -> dict[str, Any]:
        """The secret as a JSON object; empty when it holds none or does not exist yet."""
        try:
            value = self._provider.get(name, max_age=max_age, transform="json", force_fetch=force)
        except GetParameterError as exc:
            if _not_found(exc):
                return {}
            raise
        return cast(dict[str, Any], value) if isinstance(value, dict) else {}

    def write_json(self, name: str, value: dict[str, Any]) -> None:
        self._provider.set(name, value)

    def read_text(self, name: str, *, max_age: int) -> str:
        return str(self._provider.get(name, max_age=max_age))


def _not_found(exc: GetParameterError) -> bool:
    # powertools raises it while handling the ClientError, without `from`.
    cause = exc.__cause__ or exc.__context__
    return (
        isinstance(cause, ClientError)
        and cause.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
    )
