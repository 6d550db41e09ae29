"""Orange's account administration in both shapes the seeds show."""

from datetime import UTC, datetime

from gateway.orange.admin import read_contracts, read_purchases, read_usage
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
STATISTICS = {
    "partnerStatistics": {
        "statistics": [
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
    }
}


def test_both_contract_shapes_read_alike() -> None:
    [mea] = read_contracts(MEA_CONTRACTS)
    [mali] = read_contracts(MALI_CONTRACTS)
    assert (mea.country, mea.units, mea.status, mea.offer) == ("CIV", 120, "ACTIVE", "SMS_OCB")
    assert (mali.country, mali.units, mali.expires) == ("CIV", 324, "2015-05-01T14:38:14")


def test_usage_adds_up_every_application() -> None:
    assert read_usage(STATISTICS) == {"CIV": 176}


def test_purchase_orders_in_both_shapes() -> None:
    assert read_purchases([{"id": 1}, {"id": 2}]) == 2
    assert read_purchases({"purchaseOrders": [{"purchaseOrderId": "1"}]}) == 1


def test_days_to_expiry_with_or_without_a_zone() -> None:
    now = datetime(2023, 1, 1, tzinfo=UTC)
    assert days_to("2023-01-08T00:00:00.000Z", now) == 7.0
    assert days_to("2023-01-02T12:00:00", now) == 1.5
    assert days_to("not a date", now) is None
