"""Orange's SMS countries and their default sender numbers, from the seeds' tables
(orange-sms-api-mea.txt, plus EGY and NER from orange-sms-api-mali.txt)."""

from dataclasses import dataclass

import phonenumbers

from gateway.core.send_request import InvalidRequest


@dataclass(frozen=True, slots=True)
class Country:
    iso3: str
    region: str  # ISO 3166 alpha-2, as phonenumbers names regions
    sender_number: str  # international, without + or 00


COUNTRIES: tuple[Country, ...] = (
    Country("BWA", "BW", "2670000"),
    Country("BFA", "BF", "2260000"),
    Country("CMR", "CM", "2370000"),
    Country("CIV", "CI", "2250000"),
    Country("GIN", "GN", "2240000"),
    Country("GNB", "GW", "2450000"),
    Country("COD", "CD", "2430000"),
    Country("EGY", "EG", "200000"),
    Country("JOR", "JO", "9620000"),
    Country("LBR", "LR", "2310000"),
    Country("MLI", "ML", "2230000"),
    Country("MDG", "MG", "2610000"),
    Country("NER", "NE", "2270000"),
    Country("SEN", "SN", "2210000"),
    Country("TUN", "TN", "2160000"),
)
BY_REGION: dict[str, Country] = {c.region: c for c in COUNTRIES}
BY_ISO3: dict[str, Country] = {c.iso3: c for c in COUNTRIES}


def orange_country(msisdn: str) -> Country:
    """The Orange country of a recipient (E.164 with +); InvalidRequest when Orange SMS does
    not serve it."""
    region = phonenumbers.region_code_for_number(phonenumbers.parse(msisdn))
    country = BY_REGION.get(region or "")
    if country is None:
        raise InvalidRequest(f"to: Orange SMS does not serve this number's country ({region})")
    return country
