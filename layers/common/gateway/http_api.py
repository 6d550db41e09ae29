"""What every client of an Orange HTTP API shares: the base URL, one session reused across
calls (connections stay open while the container is warm), and timeouts on every call."""

import requests

CONNECT_TIMEOUT = 3.05  # just over a TCP retransmission window, as requests advises
READ_TIMEOUT = 10.0


class HttpApi:
    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        self._base = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout
