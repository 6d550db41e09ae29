"""Orange SMS settings from the environment: the API, the accounts (each with its own
credentials, token and rate) and routing by country, and who may post receipts."""

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PositiveFloat, StringConstraints

from gateway.config import EnvModel, Networks, address_in, comma_list, getter, pairs
from gateway.orange.countries import BY_ISO3, Country

DEFAULT_ACCOUNT = "default"
AccountName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


def _known_country(iso3: str) -> str:
    iso3 = iso3.upper()
    if iso3 not in BY_ISO3:
        raise ValueError(f"{iso3!r} is not one of Orange's countries {sorted(BY_ISO3)}")
    return iso3


Iso3 = Annotated[str, AfterValidator(_known_country)]


@dataclass(frozen=True, slots=True)
class OrangeAccount:
    """One Orange developer account: its own credentials, token and rate limit."""

    name: str
    credentials_secret: str
    token_secret: str
    rate_per_second: float
    bill_per_segment: bool  # each SMS segment counts against the rate, not each request

    def cost(self, segments: int) -> int:
        """The units an SMS of `segments` parts uses of this account's rate."""
        return segments if self.bill_per_segment else 1


class OrangeConfig(EnvModel):
    """Orange accounts and routing. The `default` account uses the template's two secrets;
    another account `X` uses `{ORANGE_SECRETS_PREFIX}/X/credentials` and `.../X/token`."""

    api_url: str = Field(alias="ORANGE_API_URL", min_length=1)
    credentials_secret: str = Field(alias="ORANGE_CREDENTIALS_SECRET", min_length=1)
    token_secret: str = Field(alias="ORANGE_TOKEN_SECRET", min_length=1)
    secrets_prefix: str = Field(alias="ORANGE_SECRETS_PREFIX", default="carrier-gateway/orange")
    rate_per_second: PositiveFloat = Field(alias="ORANGE_RATE_PER_SECOND", default=5.0)
    # `answers`: the arrival pacer on top of the rate slots; `slots`: the slots alone.
    pacing: Literal["answers", "slots"] = Field(alias="ORANGE_PACING", default="answers")
    sender_numbers: Annotated[dict[Iso3, str], BeforeValidator(pairs)] = Field(
        alias="ORANGE_SENDER_NUMBERS", default_factory=dict
    )
    country_accounts: Annotated[dict[Iso3, AccountName], BeforeValidator(pairs)] = Field(
        alias="ORANGE_COUNTRY_ACCOUNTS", default_factory=dict
    )
    account_rates: Annotated[dict[AccountName, PositiveFloat], BeforeValidator(pairs)] = Field(
        alias="ORANGE_ACCOUNT_RATES", default_factory=dict
    )
    segment_billed: Annotated[list[AccountName], BeforeValidator(comma_list)] = Field(
        alias="ORANGE_SEGMENT_BILLED_ACCOUNTS", default_factory=list
    )

    def sender_number(self, country: Country) -> str:
        return self.sender_numbers.get(country.iso3, country.sender_number).removeprefix("+")

    def account_names(self) -> list[str]:
        named = {DEFAULT_ACCOUNT, *self.country_accounts.values(), *self.account_rates}
        return sorted(named)

    def account_for(self, country: Country) -> OrangeAccount:
        return self.account(self.country_accounts.get(country.iso3, DEFAULT_ACCOUNT))

    def account(self, name: str) -> OrangeAccount:
        if name == DEFAULT_ACCOUNT:
            credentials, token = self.credentials_secret, self.token_secret
        else:
            credentials = f"{self.secrets_prefix}/{name}/credentials"
            token = f"{self.secrets_prefix}/{name}/token"
        return OrangeAccount(
            name=name,
            credentials_secret=credentials,
            token_secret=token,
            rate_per_second=self.account_rates.get(name, self.rate_per_second),
            bill_per_segment=name in self.segment_billed,
        )


class ReceiptConfig(EnvModel):
    token_secret: str = Field(alias="RECEIPT_TOKEN_SECRET", min_length=1)
    allowlist: Networks = Field(alias="RECEIPT_ALLOWLIST", default_factory=list)

    def allows(self, source_ip: str | None) -> bool:
        return address_in(source_ip, self.allowlist)


orange_config = getter(OrangeConfig)
receipt_config = getter(ReceiptConfig)
