"""Orange's account administration in both shapes the seeds show."""

from datetime import UTC, datetime

from gateway.orange.admin import Purchase, read_contracts, read_purchases, read_usage
from gateway.orange.balance import days_to

MEA_CONTRACTS = [
    {
        "id": "6368bdba70585131d5454a5a",
        "type": "SELFSERVICE",
        "country": "CIV",
        "offerName": "SMS_OCB",
        "availableUnits": 120,
        "requestedUnits": 0,
        "status": "ACTIVE",
        "expirationDate": "2023-01-07T15:04:20.653Z",
    }
]
MALI_CONTRACTS = {
    "partnerContracts": {
        "partnerId": "dev@example.com",
        "contracts": [
            {
                "service": "SMS_OCB",
                "contractDescription": "Your SMS balance (per country)",
                "serviceContracts": [
                    {
                        "country": "CIV",
                        "service": "SMS_OCB",
                        "contractId": "2117fc27",
                        "availableUnits": 324,
                        "expires": "2015-05-01T14:38:14",
                    }
                ],
            }
        ],
    }
}
STATISTICS_LIST = [
    {
        "service": "SMS_OCB",
        "serviceStatistics": [
            {
                "country": "CIV",
                "countryStatistics": [
                    {"applicationId": "a", "usage": 153},
                    {"applicationId": "b", "usage": 23},
                ],
            }
        ],
    }
]
STATISTICS = {"partnerStatistics": {"statistics": STATISTICS_LIST}}
ON_NET_USAGE = {"country": "CIV", "countryStatistics": [{"appid": "a", "usage": 4}]}


def test_both_contract_shapes_read_alike() -> None:
    [mea] = read_contracts(MEA_CONTRACTS)
    [mali] = read_contracts(MALI_CONTRACTS)
    assert (mea.country, mea.units, mea.status, mea.offer) == ("CIV", 120, "ACTIVE", "SMS_OCB")
    assert (mali.country, mali.units, mali.expires) == ("CIV", 324, "2015-05-01T14:38:14")


def test_usage_adds_up_every_application_per_offer() -> None:
    on_net = {"service": "SMS_OCB2", "serviceStatistics": [ON_NET_USAGE]}
    statistics = {"partnerStatistics": {"statistics": [*STATISTICS_LIST, on_net]}}
    assert read_usage(STATISTICS) == {("CIV", "SMS_OCB"): 176}
    assert read_usage(statistics) == {("CIV", "SMS_OCB"): 176, ("CIV", "SMS_OCB2"): 4}


# The seeds' examples: the MEA page's array, the Mali page's `purchaseOrders`.
MEA_PURCHASES = [
    {
        "id": "6368bdba70585131d5454a5b",
        "contractId": "63***",
        "country": "CIV",
        "offerName": "SMS_OCB",
        "bundleId": "6368b9b35455a62e00d9997a",
        "bundleDescription": "Bundle 0 - 20 SMS for 320 FCFA (Starter for 7 days)",
        "price": 320.00,
        "currency": "XOF",
        "purchaseDate": "2022-11-07T08:11:38.260Z",
        "paymentMode": "OTP_SMS_OCB",
        "type": "BUNDLE_PURCHASE",
    }
]
MALI_PURCHASES = {
    "purchaseOrders": [
        {
            "purchaseOrderId": "24031977",
            "mode": "OCB",
            "bundleId": "bc8cda15-3409-495a-b5ab-87c7017816b1",
            "bundleDescription": "Bundle 2 - 500 SMS for 15 000 FCFA)",
            "inputs": [{"type": "MSISDN", "value": "+22557....11"}],
            "orderExecutioninformation": {
                "date": "2015-04-01T14:38:40",
                "amount": 15000,
                "currency": "XOF",
                "service": "SMS_OCB",
                "country": "CIV",
                "contractId": "211...7-a121-46f2-933c-cd4...67",
            },
        }
    ]
}


def test_purchase_orders_in_both_shapes_keep_date_bundle_price_and_currency() -> None:
    assert read_purchases(MEA_PURCHASES) == [
        Purchase(
            id="6368bdba70585131d5454a5b",
            country="CIV",
            offer="SMS_OCB",
            purchase_date="2022-11-07T08:11:38.260Z",
            bundle_id="6368b9b35455a62e00d9997a",
            bundle_description="Bundle 0 - 20 SMS for 320 FCFA (Starter for 7 days)",
            price="320",
            currency="XOF",
        )
    ]
    assert read_purchases(MALI_PURCHASES) == [
        Purchase(
            id="24031977",
            country="CIV",
            offer="SMS_OCB",
            purchase_date="2015-04-01T14:38:40",
            bundle_id="bc8cda15-3409-495a-b5ab-87c7017816b1",
            bundle_description="Bundle 2 - 500 SMS for 15 000 FCFA)",
            price="15000",
            currency="XOF",
        )
    ]
    assert [p.price for p in read_purchases([{"price": 12.5}, {"price": None}])] == ["12.5", ""]


def test_days_to_expiry_with_or_without_a_zone() -> None:
    now = datetime(2023, 1, 1, tzinfo=UTC)
    assert days_to("2023-01-08T00:00:00.000Z", now) == 7.0
    assert days_to("2023-01-02T12:00:00", now) == 1.5
    assert days_to("not a date", now) is None
