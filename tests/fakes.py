"""In-memory stand-ins for the outside systems, for unit tests."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.orange.client import AccessToken, OutboundSms

Step = Callable[[OutboundSms], str] | Exception


@dataclass
class FakeOrange:
    """Answers sends from a script (an exception to raise, or a function giving the id);
    once the script runs out every send succeeds."""

    script: list[Step] = field(default_factory=list)
    sent: list[tuple[str, OutboundSms]] = field(default_factory=list)
    token_requests: int = 0
    lifetime: float = 3600.0

    def send_sms(self, token: str, sms: OutboundSms) -> str:
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        resource_id = step(sms) if step else f"res-{len(self.sent) + 1}"
        self.sent.append((token, sms))
        return resource_id

    def fetch_token(self, client_id: str, client_secret: str) -> AccessToken:
        assert (client_id, client_secret) == ("id", "secret")
        self.token_requests += 1
        return AccessToken(
            f"token-{self.token_requests}", time.time() + self.lifetime, self.lifetime
        )


@dataclass
class MemorySecrets:
    values: dict[str, Any] = field(default_factory=dict)
    reads: int = 0

    def read_json(self, name: str, *, max_age: int, force: bool = False) -> dict[str, Any]:
        self.reads += 1
        value = self.values.get(name, {})
        return dict(value) if isinstance(value, dict) else {}

    def write_json(self, name: str, value: dict[str, Any]) -> None:
        self.values[name] = dict(value)

    def read_text(self, name: str, *, max_age: int) -> str:
        return str(self.values[name])
