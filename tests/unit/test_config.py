from typing import get_args

import pytest
from phonenumbers import PhoneNumberType
from pydantic import ValidationError

from bench.template_functions import template_functions
from gateway.config import NumberType, SenderConfig
from gateway.core.send_request import SMS_NUMBER_TYPES
from gateway.orange.config import OrangeConfig, ReceiptConfig
from gateway.orange.countries import BY_ISO3

BASE = {
    "ORANGE_API_URL": "https://api.orange.com",
    "ORANGE_CREDENTIALS_SECRET": "arn:creds",
    "ORANGE_TOKEN_SECRET": "arn:token",
    "ORANGE_SECRETS_PREFIX": "gw/orange",
}


def config(**env: str) -> OrangeConfig:
    return OrangeConfig.model_validate({**BASE, **env})


def test_one_account_by_default_with_the_seed_sender_numbers() -> None:
    orange = config()
    assert orange.account_names() == ["default"]
    account = orange.account_for(BY_ISO3["SEN"])
    assert (account.name, account.credentials_secret, account.token_secret) == (
        "default",
        "arn:creds",
        "arn:token",
    )
    assert account.rate_per_second == 5
    assert orange.sender_number(BY_ISO3["SEN"]) == "2210000"


def test_countries_accounts_rates_and_sender_numbers_are_configurable() -> None:
    orange = config(
        ORANGE_COUNTRY_ACCOUNTS="mli=mali, CMR=mali",
        ORANGE_ACCOUNT_RATES="mali=10",
        ORANGE_SEGMENT_BILLED_ACCOUNTS="mali",
        ORANGE_SENDER_NUMBERS="CIV=+2259999",
    )
    assert orange.account_names() == ["default", "mali"]
    mali = orange.account_for(BY_ISO3["CMR"])
    assert mali.credentials_secret == "gw/orange/mali/credentials"
    assert mali.token_secret == "gw/orange/mali/token"
    assert (mali.rate_per_second, mali.bill_per_segment) == (10, True)
    assert orange.account_for(BY_ISO3["CIV"]).bill_per_segment is False
    assert orange.sender_number(BY_ISO3["CIV"]) == "2259999"


@pytest.mark.parametrize(
    "env",
    [
        {"ORANGE_COUNTRY_ACCOUNTS": "FRA=other"},
        {"ORANGE_COUNTRY_ACCOUNTS": "MLI=Bad Name"},
        {"ORANGE_SENDER_NUMBERS": "CIV"},
        {"ORANGE_ACCOUNT_RATES": "mali=0"},
    ],
)
def test_bad_configuration_fails_at_cold_start(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        config(**env)


def test_the_receipt_allowlist_takes_addresses_and_blocks() -> None:
    receipts = ReceiptConfig.model_validate(
        {"RECEIPT_TOKEN_SECRET": "x", "RECEIPT_ALLOWLIST": "80.12.13.2, 10.0.0.0/8,::1"}
    )
    assert receipts.allows("80.12.13.2")
    assert receipts.allows("10.1.2.3")
    assert receipts.allows("::1")
    assert not receipts.allows("80.12.13.3")
    assert not receipts.allows(None)
    assert not receipts.allows("not-an-ip")


def test_the_sms_number_types_default_is_the_same_in_the_template_config_and_intake() -> None:
    [sender] = [f for f in template_functions() if f.logical_id == "SenderFunction"]
    from_template = SenderConfig.model_validate(sender.environment).sms_number_types

    assert from_template == SenderConfig.model_validate({}).sms_number_types
    assert from_template == set(SMS_NUMBER_TYPES)


def test_the_number_type_names_are_phonenumbers_own() -> None:
    names = {PhoneNumberType.to_string(kind) for kind in PhoneNumberType.values()}
    assert set(get_args(NumberType)) == names


def test_the_sms_number_types_are_read_from_a_comma_list() -> None:
    config = SenderConfig.model_validate({"SMS_NUMBER_TYPES": "MOBILE, VOIP"})
    assert config.sms_number_types == {"MOBILE", "VOIP"}


@pytest.mark.parametrize("value", ["", "MOBILE,LANDLINE", "mobile"])
def test_unknown_or_no_sms_number_types_fail_at_cold_start(value: str) -> None:
    with pytest.raises(ValidationError, match="SMS_NUMBER_TYPES"):
        SenderConfig.model_validate({"SMS_NUMBER_TYPES": value})
