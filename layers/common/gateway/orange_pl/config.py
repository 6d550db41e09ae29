"""Orange Poland settings from the environment: its API and OAuth account, and the polling
backoff's scale."""

import os

from pydantic import Field, PositiveFloat

from gateway.config import EnvModel, getter


class OrangePlConfig(EnvModel):
    api_url: str = Field(alias="ORANGE_PL_API_URL", min_length=1)
    credentials_secret: str = Field(alias="ORANGE_PL_CREDENTIALS_SECRET", min_length=1)
    token_secret: str = Field(alias="ORANGE_PL_TOKEN_SECRET", min_length=1)
    # The seed points at Orange Poland's OAuth 2 documentation for the token.
    token_path: str = Field(alias="ORANGE_PL_TOKEN_PATH", default="/oauth/v2/token")


class PollingConfig(EnvModel):
    """Shared by the sender (the first poll) and the poller (the next ones)."""

    # 1 in production; the local demo compresses the minutes between polls.
    backoff_scale: PositiveFloat = Field(alias="ORANGE_PL_BACKOFF_SCALE", default=1.0)


orange_pl_config = getter(OrangePlConfig)
polling_config = getter(PollingConfig)


def orange_pl_configured() -> bool:
    return bool(os.environ.get("ORANGE_PL_CREDENTIALS_SECRET"))
