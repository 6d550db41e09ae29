"""Client credentials for a carrier outside the local stack (Orange's real API or a sandbox),
from a file or the environment: the local stack puts them in the account's credentials secret,
as an operator does on AWS. Never logged, never written anywhere but that secret (in moto).

The file (`--orange-credentials FILE`) is JSON, one entry per Orange account:
`{"default": {"client_id": "...", "client_secret": "..."}, "mali": {...}}`. Without a file,
`ORANGE_CLIENT_ID` and `ORANGE_CLIENT_SECRET` give the `default` account's."""

import json
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.orange.config import DEFAULT_ACCOUNT

ID_VARIABLE = "ORANGE_CLIENT_ID"
SECRET_VARIABLE = "ORANGE_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret  # nosec B105


class ClientCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1, repr=False)


class CredentialsError(ValueError):
    """The credentials given cannot be used; the message says why (and holds no secret)."""


def orange_credentials(
    file: Path | None, environ: Mapping[str, str] = os.environ
) -> dict[str, ClientCredentials]:
    """Orange accounts' client credentials by account name: the file's, or the environment's
    for the default account, or none."""
    if file is not None:
        return _from_file(file)
    client_id, client_secret = environ.get(ID_VARIABLE), environ.get(SECRET_VARIABLE)
    if not client_id and not client_secret:
        return {}
    if not (client_id and client_secret):
        raise CredentialsError(f"set both {ID_VARIABLE} and {SECRET_VARIABLE}, or neither")
    return {DEFAULT_ACCOUNT: ClientCredentials(client_id=client_id, client_secret=client_secret)}


def _from_file(file: Path) -> dict[str, ClientCredentials]:
    try:
        accounts = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"{file}: not a readable JSON file ({type(exc).__name__})") from None
    if not isinstance(accounts, dict) or not accounts:
        raise CredentialsError(f"{file}: expected {{account: {{client_id, client_secret}}}}")
    credentials = {}
    for name, value in accounts.items():
        try:
            credentials[str(name)] = ClientCredentials.model_validate(value)
        except ValidationError as exc:
            # Field names and problems only: pydantic's message would quote the values.
            problems = ", ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise CredentialsError(f"{file}: account {name}: {problems}") from None
    return credentials
