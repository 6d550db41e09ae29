"""Test helpers shared by every tier: tables from template.yaml, fakes of outside systems."""

from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
)


def create_tables(names: dict[str, str]) -> None:
    """Create the template's tables (logical id -> name) with their keys and indexes, so a key
    change in template.yaml cannot drift from what the tests run against."""
    template, errors = decode(str(TEMPLATE))
    assert template is not None, errors
    client = boto3.client("dynamodb")
    for logical_id, name in names.items():
        properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
        client.create_table(
            TableName=name, **{k: v for k, v in properties.items() if k in TABLE_KEYS}
        )
