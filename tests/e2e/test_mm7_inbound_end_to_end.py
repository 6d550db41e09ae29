"""MM7 callbacks through the local stack's API front, as an MMSC would post them: binary MMS
content survives API Gateway's base64 handling byte for byte."""

import json
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from gateway.mm7 import DeliverRequest, parse_request
from infra.local.stack import LocalStack
from tests.e2e.support import local_stack
from tests.unit.mm7.corpus import load

pytestmark = pytest.mark.e2e
NS = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(tmp_path_factory, "mm7") as running:
        yield running


def credentials(stack: LocalStack) -> tuple[str, str]:
    function = next(f for f in stack.functions if f.logical_id == "Mm7Function")
    secret = stack.clients.secretsmanager().get_secret_value(
        SecretId=function.environment["MM7_CREDENTIALS_SECRET"]
    )
    raw = json.loads(secret["SecretString"])
    return raw["username"], raw["password"]


def post(stack: LocalStack, fixture: str, auth: tuple[str, str]) -> requests.Response:
    loaded = load(fixture)
    return requests.post(
        f"{stack.endpoints['api_url']}/callbacks/mm7",
        data=loaded.body,
        headers={"Content-Type": loaded.content_type or "", "SOAPAction": '""'},
        auth=auth,
        timeout=30,
    )


def test_an_mo_mms_reaches_s3_byte_for_byte_through_the_api_front(stack: LocalStack) -> None:
    response = post(stack, "deliver-seed-corrected", credentials(stack))
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert root.findtext(f".//{{{NS}}}StatusCode") == "1000"
    loaded = load("deliver-seed-corrected")
    expected = parse_request(loaded.content_type, loaded.body)
    assert isinstance(expected, DeliverRequest)
    s3 = stack.clients.s3()
    bucket = stack.endpoints["bucket"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    stored = [s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys]
    assert stored == [part.data for part in expected.parts]
    assert any(b"\xff\xd8" in data for data in stored)  # the JPEG, not valid UTF-8


def test_wrong_credentials_get_a_basic_challenge(stack: LocalStack) -> None:
    response = post(stack, "dr-seed-rel6-1-4", ("mmsc", "wrong"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_a_malformed_request_gets_a_4004_fault(stack: LocalStack) -> None:
    response = post(stack, "malformed-unclosed-tag", credentials(stack))
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    assert root.findtext(f".//{{{NS}}}StatusCode") == "4004"
