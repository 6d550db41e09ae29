"""An outside Orange's client credentials for the local stack: read from a file or the
environment, refused with a reason that never quotes them, and put in each account's secret."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

import infra.local.__main__ as local_main
from cgw.cli import main as cgw_main
from infra.local.carrier_credentials import ClientCredentials, CredentialsError, orange_credentials
from infra.local.runtime.carriers import Gateway, OrangeSms
from infra.local.stack import LocalStackOptions

SECRET = "s3cr3t-value"


def test_a_file_gives_each_account_its_credentials(tmp_path: Path) -> None:
    file = tmp_path / "orange.json"
    file.write_text(
        json.dumps(
            {
                "default": {"client_id": "id-1", "client_secret": SECRET},
                "mali": {"client_id": "id-2", "client_secret": "other"},
            }
        )
    )
    found = orange_credentials(file, environ={})
    assert found == {
        "default": ClientCredentials(client_id="id-1", client_secret=SECRET),
        "mali": ClientCredentials(client_id="id-2", client_secret="other"),
    }
    assert SECRET not in repr(found)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not a readable JSON file"),
        ("[]", "expected {account"),
        (json.dumps({"default": {"client_id": "id"}}), "account default: client_secret"),
        (
            json.dumps({"default": {"client_id": "", "client_secret": SECRET}}),
            "account default: client_id",
        ),
    ],
)
def test_an_unusable_file_is_refused_without_quoting_it(
    tmp_path: Path, content: str, reason: str
) -> None:
    file = tmp_path / "orange.json"
    file.write_text(content)
    with pytest.raises(CredentialsError, match=reason) as raised:
        orange_credentials(file, environ={})
    assert SECRET not in str(raised.value)


def test_the_environment_gives_the_default_accounts_or_none() -> None:
    both = {"ORANGE_CLIENT_ID": "id", "ORANGE_CLIENT_SECRET": SECRET}
    assert orange_credentials(None, environ=both) == {
        "default": ClientCredentials(client_id="id", client_secret=SECRET)
    }
    assert orange_credentials(None, environ={}) == {}
    with pytest.raises(CredentialsError, match="both"):
        orange_credentials(None, environ={"ORANGE_CLIENT_ID": "id"})


class Function:
    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment


class Clients:
    def secretsmanager(self) -> Any:
        return boto3.client("secretsmanager")


@pytest.mark.usefixtures("aws")
def test_each_configured_account_gets_its_secret_and_one_without_any_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environment = {
        "ORANGE_API_URL": "https://api.orange.com",
        "ORANGE_CREDENTIALS_SECRET": "orange/credentials",
        "ORANGE_TOKEN_SECRET": "orange/token",
        "ORANGE_SECRETS_PREFIX": "cgw/orange",
        "ORANGE_COUNTRY_ACCOUNTS": "MLI=mali",
    }
    given = {
        "default": ClientCredentials(client_id="id-1", client_secret=SECRET),
        "gabon": ClientCredentials(client_id="id-3", client_secret="x"),
    }
    gateway = Gateway("http://127.0.0.1:3000", Clients(), [Function(environment)], given)  # type: ignore[arg-type, list-item]
    caplog.set_level("INFO")
    endpoints = OrangeSms().connect("https://api.orange.com", gateway)
    assert endpoints["orange_api_url"] == "https://api.orange.com"
    stored = boto3.client("secretsmanager").get_secret_value(SecretId="orange/credentials")
    assert json.loads(stored["SecretString"]) == {"client_id": "id-1", "client_secret": SECRET}
    messages = [r.getMessage() for r in caplog.records]
    assert any("no client credentials for Orange account mali" in m for m in messages)
    assert any("does not use: gabon" in m for m in messages)
    assert not any(SECRET in m for m in messages)


def test_cgw_local_passes_overrides_and_credentials_to_the_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[LocalStackOptions] = []

    def serve(options: LocalStackOptions) -> int:
        started.append(options)
        return 0

    monkeypatch.setattr(local_main, "serve", serve)
    file = tmp_path / "orange.json"
    file.write_text(json.dumps({"default": {"client_id": "id-1", "client_secret": SECRET}}))
    overrides = ["OrangeApiUrl=https://api.orange.com", "OrangeCountryAccounts=MLI=mali"]
    argv = ["local", "--parameter-overrides", *overrides, "--orange-credentials", str(file)]
    assert cgw_main(argv) == 0
    [options] = started
    assert options.parameter_overrides == {
        "OrangeApiUrl": "https://api.orange.com",
        "OrangeCountryAccounts": "MLI=mali",
    }
    assert options.orange_credentials == {
        "default": ClientCredentials(client_id="id-1", client_secret=SECRET)
    }


def test_cgw_local_refuses_unusable_credentials_before_starting(tmp_path: Path) -> None:
    file = tmp_path / "orange.json"
    file.write_text(json.dumps({"default": {"client_secret": SECRET}}))
    with pytest.raises(SystemExit, match="client_id") as refused:
        cgw_main(["local", "--orange-credentials", str(file)])
    assert SECRET not in str(refused.value)
