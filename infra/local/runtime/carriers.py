"""The carrier simulators the local stack starts, and how each is wired into the gateway.

Every carrier plugs in the same way. Unless its URL variable (or a parameter override)
names an outside service, its simulator starts on loopback. The template parameter that
points the functions at the carrier gets the simulator's URL, and the callback allowlist
parameters get loopback, where the simulators push from. Once the API front is up,
`connect` hands the carrier its credentials and callback URL and returns its entries for
endpoints.json. A simulator may be started with a network (`NetworkDelay`) delaying each of
its answers. A new carrier is one more class in CARRIERS.
"""

import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.orange.config import DEFAULT_ACCOUNT, OrangeAccount, OrangeConfig
from gateway.orange.subscriptions import receipt_url
from infra.local.aws import AwsClients
from infra.local.carrier_credentials import ClientCredentials
from infra.local.runtime.simulator_process import SimulatorProcess
from infra.local.template.functions import FunctionSpec
from infra.simulators._network import NetworkDelay
from infra.simulators.mmsc import MmscSimulator
from infra.simulators.orange import OrangeSimulator
from infra.simulators.orange_pl import OrangePlSimulator

LOOPBACK_ALLOWLIST = "127.0.0.1,::1"
logger = logging.getLogger(__name__)


def client_credentials(prefix: str = "") -> dict[str, str]:
    """New OAuth client credentials for a simulator (the local stack's own, never reused)."""
    return {
        "client_id": f"{prefix}{secrets.token_urlsafe(9)}",
        "client_secret": secrets.token_urlsafe(24),
    }


@dataclass(frozen=True)
class Gateway:
    """What a carrier's wiring reads from, and writes to, the running local stack."""

    api_url: str
    clients: AwsClients
    functions: Sequence[FunctionSpec]
    # Client credentials per Orange account, for an Orange outside the stack.
    orange_credentials: Mapping[str, ClientCredentials] = field(default_factory=dict)

    def env_value(self, variable: str) -> str | None:
        """The value a function's environment gives `variable` (the first that sets it)."""
        environment = self.environment_with(variable)
        return None if environment is None else environment[variable]

    def secret_value(self, secret_id: str) -> str:
        return self.clients.secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"]

    def put_secret(self, secret_id: str, value: str) -> None:
        """Set a secret's value, creating the secret if the template does not declare it."""
        client = self.clients.secretsmanager()
        try:
            client.put_secret_value(SecretId=secret_id, SecretString=value)
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=secret_id, SecretString=value)

    def environment_with(self, variable: str) -> Mapping[str, str] | None:
        """The environment of the first function that sets `variable`."""
        for function in self.functions:
            if variable in function.environment:
                return function.environment
        return None


class Carrier(Protocol):
    name: str
    url_parameter: str  # the template parameter holding the carrier's base URL
    url_variable: str  # the environment variable naming an outside service instead
    # Parameter values the local stack sets for this carrier (unless overridden): loopback
    # allowlists, the gateway's identity at the simulator.
    local_parameters: Mapping[str, str]

    def start_simulator(
        self, host: str, network: NetworkDelay | None = None
    ) -> SimulatorProcess[Any]: ...

    def connect(self, carrier_url: str, gateway: Gateway) -> dict[str, str]: ...


class OrangeSms:
    """Orange's SMS API: OAuth client credentials in a secret, receipts pushed to the token URL
    the gateway subscribed."""

    name = "orange"
    url_parameter = "OrangeApiUrl"
    url_variable = "ORANGE_API_URL"
    local_parameters: Mapping[str, str] = {"OrangeReceiptAllowlist": LOOPBACK_ALLOWLIST}

    def __init__(self) -> None:
        self._simulator: OrangeSimulator | None = None
        self._credentials = client_credentials()

    def start_simulator(
        self, host: str, network: NetworkDelay | None = None
    ) -> SimulatorProcess[Any]:
        process = SimulatorProcess(OrangeSimulator, host, network=network, **self._credentials)
        self._simulator = process.simulator
        return process

    def connect(self, carrier_url: str, gateway: Gateway) -> dict[str, str]:
        endpoints = {"orange_api_url": carrier_url}
        token_secret = gateway.env_value("RECEIPT_TOKEN_SECRET")
        if token_secret is not None:
            token = gateway.secret_value(token_secret)
            endpoints["orange_dr_url"] = receipt_url(gateway.api_url, token)
        # The receipt URL reaches the simulator as it reaches Orange: through the template's
        # subscription custom resource, which the local stack creates next.
        if self._simulator is not None:
            for account in self._accounts(gateway):
                credentials = self._account_credentials(self._simulator, account.name)
                gateway.put_secret(account.credentials_secret, json.dumps(credentials))
        else:
            self._outside_credentials(gateway)
        return endpoints

    def _outside_credentials(self, gateway: Gateway) -> None:
        """An Orange outside the stack: each account's secret gets the credentials given for
        it; an account without any waits ("no client credentials"), which is said now."""
        accounts = self._accounts(gateway)
        for account in accounts:
            given = gateway.orange_credentials.get(account.name)
            if given is None:
                logger.warning(
                    "no client credentials for Orange account %s: its SMS wait until its secret "
                    "%s holds them (cgw local --orange-credentials FILE)",
                    account.name,
                    account.credentials_secret,
                )
                continue
            gateway.put_secret(account.credentials_secret, given.model_dump_json())
            logger.info("Orange account %s: client credentials set", account.name)
        unknown = set(gateway.orange_credentials) - {account.name for account in accounts}
        if unknown:
            logger.warning(
                "credentials given for Orange accounts the gateway does not use: %s "
                "(OrangeCountryAccounts names them)",
                ", ".join(sorted(unknown)),
            )

    @staticmethod
    def _accounts(gateway: Gateway) -> list[OrangeAccount]:
        """Every Orange account the functions are configured with (ORANGE_* variables)."""
        environment = gateway.environment_with("ORANGE_CREDENTIALS_SECRET")
        if environment is None:
            return []
        config = OrangeConfig.model_validate(dict(environment))
        return [config.account(name) for name in config.account_names()]

    def _account_credentials(self, simulator: OrangeSimulator, account: str) -> dict[str, str]:
        """The default account's credentials, or a new simulator client for another one."""
        if account == DEFAULT_ACCOUNT:
            return self._credentials
        credentials = client_credentials(prefix=f"{account}-")
        simulator.add_client(credentials["client_id"], credentials["client_secret"])
        return credentials


class OrangePl:
    """Orange Poland's MMSDeliveryStatus: its own OAuth client credentials, polled, no callback."""

    name = "orange-pl"
    url_parameter = "OrangePlApiUrl"
    url_variable = "ORANGE_PL_API_URL"
    local_parameters: Mapping[str, str] = {}

    def __init__(self) -> None:
        self._simulator: OrangePlSimulator | None = None
        self._credentials = client_credentials()

    def start_simulator(
        self, host: str, network: NetworkDelay | None = None
    ) -> SimulatorProcess[Any]:
        process = SimulatorProcess(OrangePlSimulator, host, network=network, **self._credentials)
        self._simulator = process.simulator
        return process

    def connect(self, carrier_url: str, gateway: Gateway) -> dict[str, str]:
        credentials_secret = gateway.env_value("ORANGE_PL_CREDENTIALS_SECRET")
        if self._simulator is not None and credentials_secret is not None:
            gateway.put_secret(credentials_secret, json.dumps(self._credentials))
        return {"orange_pl_api_url": carrier_url}


class Mm7Mmsc:
    """An MM7 MMSC: the gateway submits with HTTP Basic, the MMSC calls back /callbacks/mm7 with
    the credentials of the gateway's Mm7CredentialsSecret."""

    name = "mm7"
    url_parameter = "Mm7MmscUrl"
    url_variable = "MM7_MMSC_URL"
    # Who the gateway is at the simulated MMSC.
    local_parameters: Mapping[str, str] = {
        "Mm7VaspId": "carrier-gateway",
        "Mm7VasId": "local",
        "Mm7SenderAddress": "222111",
        "Mm7ServiceCode": "local",
    }

    def __init__(self) -> None:
        self._simulator: MmscSimulator | None = None
        self._credentials = {
            "username": f"vasp-{secrets.token_hex(4)}",
            "password": secrets.token_urlsafe(24),
        }

    def start_simulator(
        self, host: str, network: NetworkDelay | None = None
    ) -> SimulatorProcess[Any]:
        process = SimulatorProcess(MmscSimulator, host, network=network, **self._credentials)
        self._simulator = process.simulator
        return process

    def connect(self, carrier_url: str, gateway: Gateway) -> dict[str, str]:
        endpoints = {"mm7_url": f"{gateway.api_url}/callbacks/mm7", "mmsc_url": carrier_url}
        callback_secret = gateway.env_value("MM7_CREDENTIALS_SECRET")
        if callback_secret is not None:
            callback = json.loads(gateway.secret_value(callback_secret))
            endpoints["mm7_username"] = callback["username"]
            endpoints["mm7_password"] = callback["password"]
            if self._simulator is not None:
                self._simulator.set_vasp_callback(
                    endpoints["mm7_url"],
                    username=callback["username"],
                    password=callback["password"],
                )
        submit_secret = gateway.env_value("MM7_MMSC_CREDENTIALS_SECRET")
        if self._simulator is not None and submit_secret is not None:
            gateway.put_secret(submit_secret, json.dumps(self._credentials))
        return endpoints


CARRIERS: tuple[Callable[[], Carrier], ...] = (OrangeSms, OrangePl, Mm7Mmsc)
