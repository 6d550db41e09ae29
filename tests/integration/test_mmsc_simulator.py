"""The MM7 MMSC simulator over real HTTP on loopback, its requests read by the gateway's codec."""

import base64
import dataclasses
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, Literal

import pytest
import requests
from lxml import etree
from werkzeug.wrappers import Request, Response

from gateway.mm7 import (
    DeliverRequest,
    DeliveryReportRequest,
    Mm7Error,
    StatusCode,
    fault,
    parse_request,
    reply,
)
from infra.simulators.mmsc import (
    DEFAULT_PARTS,
    ContentPart,
    FaultPlan,
    MmscSimulator,
    NetworkDelay,
)
from tests.integration.simulator_support import (
    TIMEOUT,
    Endpoint,
    command_line,
    running,
    simulators,
    wait_for_stats,
)

pytestmark = pytest.mark.integration

NS6 = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"
NS5 = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-2"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
VASP_AUTH = ("local-vasp", "local-vasp-secret")
CALLBACK_AUTH = ("local-mmsc", "local-mmsc-secret")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"

MakeSim = Callable[..., MmscSimulator]
# What the VASP answers a post: an HTTP status with no body, a Rsp with that StatusCode, the
# fault of that error, or a successful Rsp echoing another TransactionID.
WRONG_TRANSACTION: Final = "wrong-transaction"
Answer = int | StatusCode | Mm7Error | Literal["wrong-transaction"]


class Vasp(Endpoint):
    """A tiny VASP endpoint: checks HTTP Basic, reads each post with the gateway's codec and
    answers with the gateway's reply, or with `answers` in turn; records what it read."""

    def __init__(self, answers: Sequence[Answer] = (), auth: tuple[str, str] = CALLBACK_AUTH):
        super().__init__(name="test-vasp", path="/callbacks/mm7")
        self.requests: list[Any] = []  # DeliveryReportRequest | DeliverRequest, acknowledged
        self.headers: list[dict[str, str]] = []
        self.attempts = 0
        self._answers = deque(answers)
        self._auth = auth

    def _answer(self, request: Request) -> Response:
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != self._auth:
            return Response(status=401)
        try:
            parsed = parse_request(request.headers.get("Content-Type"), request.get_data())
        except Mm7Error as error:  # as the gateway answers what it cannot read
            built = fault(error)
            return Response(built.body, status=built.http_status, content_type=built.content_type)
        with self._lock:
            self.attempts += 1
            answer = self._answers.popleft() if self._answers else StatusCode.SUCCESS
            if answer == StatusCode.SUCCESS:
                self.requests.append(parsed)
                self.headers.append(dict(request.headers))
        if isinstance(answer, Mm7Error):
            built = fault(answer)
        elif isinstance(answer, StatusCode):
            built = reply(parsed, answer)
        elif answer == WRONG_TRANSACTION:
            other = dataclasses.replace(parsed.header, transaction_id="another")
            built = reply(dataclasses.replace(parsed, header=other))
        else:
            return Response(status=answer)
        return Response(built.body, status=built.http_status, content_type=built.content_type)

    def reports(self) -> list[DeliveryReportRequest]:
        with self._lock:
            return [r for r in self.requests if isinstance(r, DeliveryReportRequest)]


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    with simulators(MmscSimulator, report_delay=0.05) as make:
        yield make


@pytest.fixture
def vasp() -> Iterator[Vasp]:
    with running(Vasp()) as vasp:
        yield vasp


@pytest.fixture
def sim(make_sim: MakeSim) -> MmscSimulator:
    return make_sim()


# -- building a SubmitReq by hand (the gateway's builder is not written yet) -------------


def submit_xml(
    *,
    namespace: str = NS6,
    transaction_id: str | None = "tx-1",
    to: Sequence[str] = ("12125550112",),
    content_href: str | None = "cid:mm-content",
    delivery_report: str | None = None,
    operation: str = "SubmitReq",
    drop: Sequence[str] = (),
) -> bytes:
    """A SubmitReq envelope; `drop` leaves out elements by name (VASPID, MM7Version, ...)."""
    q = f"{{{namespace}}}" if namespace else ""
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"env": SOAP})
    if transaction_id is not None:
        header = etree.SubElement(envelope, f"{{{SOAP}}}Header")
        tid = etree.SubElement(header, f"{q}TransactionID", {f"{{{SOAP}}}mustUnderstand": "1"})
        tid.text = transaction_id
    body = etree.SubElement(envelope, f"{{{SOAP}}}Body")
    submit = etree.SubElement(body, f"{q}{operation}")

    def add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{q}{name}")
        element.text = text
        return element

    if "MM7Version" not in drop:
        add(submit, "MM7Version", "6.8.0")
    identification = add(submit, "SenderIdentification")
    for name, value in (("VASPID", "vasp-1"), ("VASID", "service-1")):
        if name not in drop:
            add(identification, name, value)
    add(add(identification, "SenderAddress"), "ShortCode", "222111")
    recipients = add(submit, "Recipients")
    for number in to:
        add(add(recipients, "To"), "Number", number)
    if delivery_report is not None:
        add(submit, "DeliveryReport", delivery_report)
    add(submit, "Subject", "Voucher")
    if content_href is not None:
        content = add(submit, "Content")
        content.set("href", content_href)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def multipart(parts: Sequence[tuple[dict[str, str], bytes]], boundary: str) -> bytes:
    out = b""
    for headers, body in parts:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        out += f"--{boundary}\r\n{lines}\r\n".encode() + body + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def submit_with_content(soap: bytes) -> tuple[str, bytes]:
    """SOAP with attachments: the SOAP part, then a multipart/mixed of a JPEG and a text."""
    mixed = multipart(
        [
            ({"Content-Type": "image/jpeg", "Content-ID": "<photo>"}, JPEG),
            ({"Content-Type": "text/plain; charset=utf-8"}, "Zniżka 10%".encode()),
        ],
        "inner-boundary",
    )
    body = multipart(
        [
            ({"Content-Type": "text/xml; charset=utf-8", "Content-ID": "<soap>"}, soap),
            (
                {
                    "Content-Type": 'multipart/mixed; boundary="inner-boundary"',
                    "Content-ID": "<mm-content>",
                },
                mixed,
            ),
        ],
        "outer-boundary",
    )
    return 'multipart/related; type="text/xml"; start="<soap>"; boundary=outer-boundary', body


def post_submit(
    sim: MmscSimulator,
    body: bytes | None = None,
    content_type: str | None = None,
    auth: tuple[str, str] | None = VASP_AUTH,
    timeout: float = TIMEOUT,
) -> requests.Response:
    if body is None:
        content_type, body = submit_with_content(submit_xml())
    return requests.post(
        sim.mm7_url,
        data=body,
        headers={"Content-Type": content_type or "text/xml; charset=utf-8"},
        auth=auth,
        timeout=timeout,
    )


def answer_of(response: requests.Response) -> tuple[etree._Element, etree._Element | None]:
    """The Body's first element and the header's TransactionID of a SOAP answer."""
    root = etree.fromstring(response.content)
    body = root.find(f"{{{SOAP}}}Body")
    assert body is not None
    header = root.find(f"{{{SOAP}}}Header")
    return body[0], None if header is None else header[0]


def fault_status(response: requests.Response) -> tuple[str, str]:
    """(faultcode, the RSErrorRsp's StatusCode) of a SOAP Fault answer."""
    operation, _ = answer_of(response)
    assert operation.tag == f"{{{SOAP}}}Fault"
    detail = operation.find("detail")
    assert detail is not None
    error = detail[0]
    code = error.find(f"{{{NS6}}}Status/{{{NS6}}}StatusCode")
    assert error.tag == f"{{{NS6}}}RSErrorRsp"
    assert code is not None
    return operation.findtext("faultcode") or "", code.text or ""


# -- submit --------------------------------------------------------------------


def test_multipart_submit_is_answered_with_a_submit_rsp_and_recorded(sim: MmscSimulator) -> None:
    response = post_submit(sim)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    operation, transaction = answer_of(response)
    assert operation.tag == f"{{{NS6}}}SubmitRsp"
    assert transaction is not None
    assert (transaction.tag, transaction.text) == (f"{{{NS6}}}TransactionID", "tx-1")
    assert transaction.get(f"{{{SOAP}}}mustUnderstand") == "1"
    assert operation.findtext(f"{{{NS6}}}MM7Version") == "6.8.0"
    assert operation.findtext(f"{{{NS6}}}Status/{{{NS6}}}StatusCode") == "1000"
    assert operation.findtext(f"{{{NS6}}}Status/{{{NS6}}}StatusText") == "Success"
    message_id = operation.findtext(f"{{{NS6}}}MessageID")
    assert message_id

    [record] = sim.submits()
    assert (record.message_id, record.transaction_id) == (message_id, "tx-1")
    assert (record.vasp_id, record.vas_id, record.sender) == ("vasp-1", "service-1", "222111")
    assert (record.recipients, record.subject) == (("12125550112",), "Voucher")
    assert [(p.content_type, p.data) for p in record.parts] == [
        ("image/jpeg", JPEG),
        ("text/plain", "Zniżka 10%".encode()),
    ]
    assert sim.stats()["submits"] == 1


@pytest.mark.parametrize("namespace", [NS6, NS5, ""], ids=["rel-6", "rel-5", "no-namespace"])
def test_bare_xml_submit_without_content_is_answered_in_its_namespace(
    sim: MmscSimulator, namespace: str
) -> None:
    response = post_submit(sim, submit_xml(namespace=namespace, content_href=None))

    assert response.status_code == 200
    operation, transaction = answer_of(response)
    q = f"{{{namespace}}}" if namespace else ""
    assert operation.tag == f"{q}SubmitRsp"
    assert transaction is not None
    assert transaction.tag == f"{q}TransactionID"
    assert sim.submits()[0].parts == ()


def test_message_ids_are_new_for_each_submit(sim: MmscSimulator) -> None:
    ids = {answer_of(post_submit(sim))[0].findtext(f"{{{NS6}}}MessageID") for _ in range(3)}

    assert len(ids) == 3


@pytest.mark.parametrize(
    "auth",
    [None, ("local-vasp", "wrong"), ("someone", "local-vasp-secret")],
    ids=["missing", "wrong-password", "wrong-user"],
)
def test_bad_credentials_get_401_with_a_basic_challenge(
    sim: MmscSimulator, auth: tuple[str, str] | None
) -> None:
    response = post_submit(sim, auth=auth)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="mmsc"'
    assert sim.submits() == []
    assert sim.stats()["rejected_401"] == 1


@pytest.mark.parametrize(
    ("body", "transaction"),
    [
        (b"not xml at all", None),
        (b"<Envelope><Body/></Envelope>", None),
        (submit_xml(transaction_id=None), None),
        (submit_xml(drop=["MM7Version"]), "tx-1"),
        (submit_xml(drop=["VASPID"]), "tx-1"),
        (submit_xml(drop=["VASID"]), "tx-1"),
        (submit_xml(to=()), "tx-1"),
        (submit_xml(to=["12-12"]), "tx-1"),
        (submit_xml(content_href="cid:missing"), "tx-1"),
        (submit_xml(content_href="http://example.com/x"), "tx-1"),
    ],
    ids=[
        "not-xml",
        "empty-body",
        "no-transaction-id",
        "no-version",
        "no-vaspid",
        "no-vasid",
        "no-recipient",
        "malformed-number",
        "content-not-sent",
        "content-not-cid",
    ],
)
def test_malformed_submits_get_a_4004_fault(
    sim: MmscSimulator, body: bytes, transaction: str | None
) -> None:
    response = post_submit(sim, body)

    assert response.status_code == 500
    assert fault_status(response) == ("soap-env:Client", "4004")
    _, echoed = answer_of(response)
    assert (None if echoed is None else echoed.text) == transaction
    assert sim.submits() == []
    assert sim.stats()["rejected_invalid"] == 1


def test_a_content_href_naming_a_sent_part_passes(sim: MmscSimulator) -> None:
    content_type, body = submit_with_content(submit_xml(content_href="cid:photo"))

    response = post_submit(sim, body, content_type)

    assert response.status_code == 200
    assert [p.data for p in sim.submits()[0].parts] == [JPEG]


@pytest.mark.parametrize("operation", ["CancelReq", "DeliverReq"])
def test_other_operations_get_a_4003_fault(sim: MmscSimulator, operation: str) -> None:
    response = post_submit(sim, submit_xml(operation=operation, content_href=None))

    assert response.status_code == 500
    assert fault_status(response) == ("soap-env:Client", "4003")


def test_submit_is_served_on_any_path_but_not_on_get(sim: MmscSimulator) -> None:
    body = submit_xml(content_href=None)
    headers = {"Content-Type": "text/xml"}

    at_root = requests.post(sim.url, data=body, headers=headers, auth=VASP_AUTH, timeout=TIMEOUT)
    read = requests.get(sim.mm7_url, timeout=TIMEOUT)
    unknown_control = requests.post(f"{sim.url}/_sim/nothing", timeout=TIMEOUT)

    assert at_root.status_code == 200
    assert read.status_code == 405
    assert unknown_control.status_code == 404


# -- delivery reports ----------------------------------------------------------


def test_reports_follow_the_outcome_table_in_order(make_sim: MakeSim, vasp: Vasp) -> None:
    sim = make_sim(vasp_callback_url=vasp.url)
    recipients = ["12125550199", "12125550198", "12125550197", "12125550196", "+12125550195"]
    recipients.append("12125550112")
    response = post_submit(sim, submit_xml(to=recipients, content_href=None))
    message_id = answer_of(response)[0].findtext(f"{{{NS6}}}MessageID")

    assert sim.wait_for_reports(TIMEOUT)

    reports = vasp.reports()
    by_recipient: dict[str, list[str]] = {}
    for report in reports:
        by_recipient.setdefault(report.recipient.value, []).append(report.mm_status)
    assert by_recipient == {
        "12125550199": ["Rejected"],
        "12125550198": ["Forwarded", "Expired"],
        "12125550197": ["Forwarded", "Rejected"],
        "12125550195": ["Forwarded", "Indeterminate"],  # the Number without its '+'
        "12125550112": ["Forwarded", "Retrieved"],
    }
    assert {r.message_id for r in reports} == {message_id}
    assert all(r.status_text for r in reports)
    assert sim.stats()["reports_pushed"] == 9
    transaction_ids = [r.header.transaction_id for r in reports]
    assert len(set(transaction_ids)) == 9


def test_a_report_has_the_seeds_elements(make_sim: MakeSim, vasp: Vasp) -> None:
    sim = make_sim(vasp_callback_url=vasp.url)
    post_submit(sim, submit_xml(to=["12125550199"], content_href=None))

    assert sim.wait_for_reports(TIMEOUT)

    [report] = vasp.reports()
    assert report.header.namespace == NS6
    assert report.header.mm7_version == "6.8.0"
    assert report.header.transaction_id
    assert report.sender is not None
    assert (report.sender.kind, report.sender.value) == ("ShortCode", "222111")
    assert report.status_text == "Rejected by the network: unknown subscriber"
    assert report.date is not None
    assert report.date.endswith("Z")
    [headers] = vasp.headers
    assert headers["Content-Type"].startswith('multipart/related; start="<soap-start>"')
    assert headers["Soapaction"] == f'"{NS6}"'


@pytest.mark.parametrize(
    ("framing", "content_type"),
    [("xml", "text/xml"), ("seed", 'multipart/related; type="text/xml"'), ("multipart", "multi")],
)
def test_report_framings_all_read_by_the_gateway(
    make_sim: MakeSim, vasp: Vasp, framing: str, content_type: str
) -> None:
    sim = make_sim(vasp_callback_url=vasp.url, report_framing=framing)
    post_submit(sim, submit_xml(to=["12125550112"], content_href=None))

    assert sim.wait_for_reports(TIMEOUT)

    assert [r.mm_status for r in vasp.reports()] == ["Forwarded", "Retrieved"]
    assert all(h["Content-Type"].startswith(content_type) for h in vasp.headers)


def test_a_report_not_acknowledged_with_1000_is_retried(make_sim: MakeSim) -> None:
    flaky = Vasp(answers=[500, StatusCode.SERVER_ERROR, Mm7Error(StatusCode.SERVER_ERROR, "busy")])
    with running(flaky):
        sim = make_sim(vasp_callback_url=flaky.url)
        post_submit(sim, submit_xml(to=["12125550199"], content_href=None))
        assert sim.wait_for_reports(TIMEOUT)

    assert flaky.attempts == 4
    [record] = sim.reports()
    assert (record.delivered, record.attempts, record.http_status) == (True, 4, 200)
    assert (record.mm_status, record.recipient) == ("Rejected", "12125550199")
    assert [r.mm_status for r in flaky.reports()] == ["Rejected"]


def test_a_report_answered_with_another_transaction_id_is_retried(make_sim: MakeSim) -> None:
    confused = Vasp(answers=[WRONG_TRANSACTION])
    with running(confused):
        sim = make_sim(vasp_callback_url=confused.url)
        post_submit(sim, submit_xml(to=["12125550199"], content_href=None))
        assert sim.wait_for_reports(TIMEOUT)

    [record] = sim.reports()
    assert (record.delivered, record.attempts, record.error) == (True, 2, None)


def test_reports_refused_for_wrong_credentials_are_given_up(make_sim: MakeSim) -> None:
    strict = Vasp(auth=("someone", "else"))
    with running(strict):
        sim = make_sim(vasp_callback_url=strict.url)
        post_submit(sim, submit_xml(to=["12125550199"], content_href=None))
        assert sim.wait_for_reports(TIMEOUT)

    [record] = sim.reports()
    assert (record.delivered, record.http_status, record.error) == (
        False,
        401,
        "HTTP 401 without a SOAP answer",
    )
    stats = requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT).json()
    assert (stats["reports_pushed"], stats["reports_failed"]) == (0, 1)
    assert requests.get(f"{sim.url}/_sim/reports", timeout=TIMEOUT).json()[0]["attempts"] > 1


def test_no_reports_when_not_asked_for_or_without_a_callback(
    sim: MmscSimulator, vasp: Vasp
) -> None:
    post_submit(sim, submit_xml(content_href=None))  # no callback URL yet
    sim.set_vasp_callback(vasp.url, username=CALLBACK_AUTH[0], password=CALLBACK_AUTH[1])
    post_submit(sim, submit_xml(content_href=None, delivery_report="false"))
    post_submit(sim, submit_xml(to=["12125550199"], content_href=None, delivery_report="true"))

    assert sim.wait_for_reports(TIMEOUT)

    assert [r.recipient.value for r in vasp.reports()] == ["12125550199"]


# -- MO MMS (DeliverReq) ---------------------------------------------------------


def test_push_deliver_is_read_by_the_gateway_with_the_image_intact(
    make_sim: MakeSim, vasp: Vasp
) -> None:
    sim = make_sim(vasp_callback_url=vasp.url)

    record = sim.push_deliver(sender="+12125550123", subject="ACME Rewards Voucher")

    assert (record.http_status, record.status_code, record.error) == (200, 1000, None)
    [deliver] = vasp.requests
    assert isinstance(deliver, DeliverRequest)
    assert deliver.header.transaction_id == record.transaction_id == deliver.linked_id
    assert deliver.sender.value == "12125550123"
    assert [a.value for a in deliver.recipients.to] == ["222111"]
    assert (deliver.subject, deliver.priority) == ("ACME Rewards Voucher", "Normal")
    assert [(p.content_type, p.data) for p in deliver.parts] == [
        (part.content_type, part.data) for part in DEFAULT_PARTS
    ]
    with pytest.raises(UnicodeDecodeError):
        deliver.parts[0].data.decode("utf-8")
    [headers] = vasp.headers
    assert headers["Content-Type"].startswith(
        'multipart/related; start="<soap-start>"; type="text/xml"; boundary='
    )
    assert sim.stats()["delivers_pushed"] == 1


def test_deliver_over_http_with_given_parts(make_sim: MakeSim, vasp: Vasp) -> None:
    sim = make_sim(vasp_callback_url=vasp.url)
    body = {
        "sender": "447700900765",
        "recipient": "60001",
        "parts": [
            {"content_type": "image/jpeg", "base64": base64.b64encode(JPEG).decode()},
            {"content_type": "text/plain", "text": "Cześć", "content_id": "text_0.txt"},
        ],
    }

    response = requests.post(f"{sim.url}/_sim/deliver", json=body, timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    [deliver] = vasp.requests
    assert [a.value for a in deliver.recipients.to] == ["60001"]
    assert [p.data for p in deliver.parts] == [JPEG, "Cześć".encode()]
    assert deliver.parts[1].text() == "Cześć"
    assert deliver.subject is None


def test_a_refused_deliver_is_recorded_with_its_status_code(make_sim: MakeSim) -> None:
    refusing = Vasp(answers=[Mm7Error(StatusCode.VALIDATION_ERROR, "no")])
    with running(refusing):
        sim = make_sim(vasp_callback_url=refusing.url)
        record = sim.push_deliver(sender="12125550123", parts=[ContentPart("text/plain", b"x")])

    assert (record.http_status, record.status_code, record.error) == (500, 4004, "HTTP 500")
    assert sim.delivers() == [record]
    assert (sim.stats()["delivers_pushed"], sim.stats()["delivers_failed"]) == (0, 1)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"recipient": "1"},
        {"sender": "1", "parts": [{"content_type": "text/plain"}]},
        {"sender": "1", "parts": [{"content_type": "image/gif", "base64": "***"}]},
        {"sender": "1", "colour": "red"},
    ],
    ids=["not-an-object", "no-sender", "part-without-data", "bad-base64", "unknown-key"],
)
def test_invalid_deliver_requests_are_400(make_sim: MakeSim, vasp: Vasp, body: Any) -> None:
    sim = make_sim(vasp_callback_url=vasp.url)

    response = requests.post(f"{sim.url}/_sim/deliver", json=body, timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.json()["error"]
    assert vasp.attempts == 0


def test_deliver_without_a_callback_url_is_refused(sim: MmscSimulator) -> None:
    response = requests.post(f"{sim.url}/_sim/deliver", json={"sender": "1"}, timeout=TIMEOUT)

    assert response.status_code == 409
    with pytest.raises(RuntimeError):
        sim.push_deliver(sender="12125550123")


# -- control and faults ----------------------------------------------------------


def test_submits_are_listed_over_http_with_parts_in_base64(sim: MmscSimulator) -> None:
    post_submit(sim)

    [submit] = requests.get(f"{sim.url}/_sim/submits", timeout=TIMEOUT).json()

    assert submit["recipients"] == ["12125550112"]
    assert submit["parts"][0] == {
        "content_type": "image/jpeg",
        "content_id": "photo",
        "size": len(JPEG),
        "base64": base64.b64encode(JPEG).decode(),
    }


def test_http_500_fault_is_a_server_fault_and_not_a_submit(sim: MmscSimulator) -> None:
    sim.set_faults(FaultPlan(http_500=1.0))

    response = post_submit(sim)

    assert response.status_code == 500
    assert fault_status(response) == ("soap-env:Server", "3000")
    assert sim.submits() == []
    assert sim.stats()["faults_injected"] == 1


def test_http_503_fault_is_a_bare_503_and_not_a_submit(sim: MmscSimulator) -> None:
    sim.set_faults(FaultPlan(http_503=1.0))

    response = post_submit(sim)

    assert response.status_code == 503
    assert "xml" not in response.headers.get("Content-Type", "")
    assert sim.submits() == []
    assert sim.faults_injected() == {"http_503": 1}


def test_http_504_fault_is_a_bare_504_after_the_submit_happened(
    make_sim: MakeSim, vasp: Vasp
) -> None:
    sim = make_sim(vasp_callback_url=vasp.url)
    sim.set_faults(FaultPlan(http_504=1.0))

    response = post_submit(sim, submit_xml(to=["12125550199"], content_href=None))

    assert response.status_code == 504
    assert "xml" not in response.headers.get("Content-Type", "")
    assert len(sim.submits()) == 1
    assert sim.wait_for_reports(TIMEOUT)
    assert [r.mm_status for r in vasp.reports()] == ["Rejected"]


def test_rate_burst_fault_is_4006(sim: MmscSimulator) -> None:
    sim.set_faults(FaultPlan(rate_burst=1.0))

    response = post_submit(sim)

    assert fault_status(response) == ("soap-env:Server", "4006")


def test_reset_fault_drops_the_connection(sim: MmscSimulator) -> None:
    sim.set_faults(FaultPlan(reset=1.0))

    with pytest.raises(requests.ConnectionError):
        post_submit(sim)

    assert sim.submits() == []


def test_timeout_fault_holds_the_answer_but_the_submit_happened(
    make_sim: MakeSim, vasp: Vasp
) -> None:
    sim = make_sim(vasp_callback_url=vasp.url)
    sim.set_faults(FaultPlan(timeout=1.0, timeout_seconds=3.0))

    with pytest.raises(requests.Timeout):
        post_submit(sim, submit_xml(to=["12125550199"], content_href=None), timeout=0.3)

    assert len(sim.submits()) == 1
    assert sim.wait_for_reports(TIMEOUT)
    assert [r.mm_status for r in vasp.reports()] == ["Rejected"]


def test_faults_are_set_and_cleared_over_http(sim: MmscSimulator) -> None:
    control = f"{sim.url}/_sim/faults"

    assert requests.post(control, json={"http_500": 1}, timeout=TIMEOUT).status_code == 200
    assert post_submit(sim).status_code == 500
    assert requests.post(control, json={}, timeout=TIMEOUT).status_code == 200
    assert post_submit(sim).status_code == 200
    assert requests.post(control, json={"http_500": 2}, timeout=TIMEOUT).status_code == 400


def test_seeded_faults_replay_identically(make_sim: MakeSim) -> None:
    def run() -> list[int]:
        sim = make_sim(seed=11)
        sim.set_faults(FaultPlan(http_500=0.5))
        return [post_submit(sim).status_code for _ in range(10)]

    first = run()

    assert first == run()
    assert set(first) == {200, 500}


# -- network -------------------------------------------------------------------

# A timer may wake a hair early, and submit records are stamped by the wall clock.
SLACK = 0.002


def timed[T](call: Callable[[], T]) -> tuple[T, float]:
    """What `call` returns, and the seconds it took, as the client sees them."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_network_delays_each_submit_both_ways(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=50, jitter_ms=0))

    fired = time.time()
    response, seconds = timed(lambda: post_submit(sim))
    answered = time.time()
    refused, refused_seconds = timed(lambda: post_submit(sim, auth=("local-vasp", "wrong")))

    assert (response.status_code, refused.status_code) == (200, 401)
    # Two one-way delays per call, whatever the answer.
    assert 0.1 - SLACK <= seconds < 1.0
    assert 0.1 - SLACK <= refused_seconds < 1.0
    [record] = sim.submits()
    assert record.time - fired >= 0.05 - SLACK  # recorded once it had arrived
    assert answered - record.time >= 0.05 - SLACK  # and answered a trip later
    stats = sim.network_stats()
    assert (stats["calls"], stats["delays"], stats["total_delay_ms"]) == (2, 4, 200.0)


def test_set_network_at_run_time_and_off_again(sim: MmscSimulator) -> None:
    sim.set_network(NetworkDelay(mean_ms=30, jitter_ms=10, seed=3))
    _, delayed = timed(lambda: post_submit(sim))
    sim.set_network(None)
    response, undelayed = timed(lambda: post_submit(sim))

    assert response.status_code == 200
    assert delayed >= 2 * 0.02 - SLACK
    assert undelayed < 1.0
    stats = sim.network_stats()
    assert (stats["network"], stats["calls"], stats["delays"]) == (None, 1, 2)
    assert stats["min_delay_ms"] is not None
    assert stats["max_delay_ms"] is not None
    assert 20 <= stats["min_delay_ms"] <= stats["max_delay_ms"] <= 40


def test_the_control_endpoints_are_never_delayed(make_sim: MakeSim) -> None:
    sim = make_sim(network=NetworkDelay(mean_ms=1000))
    calls: list[Callable[[], requests.Response]] = [
        lambda: requests.get(f"{sim.url}/_sim/stats", timeout=TIMEOUT),
        lambda: requests.get(f"{sim.url}/_sim/submits", timeout=TIMEOUT),
        lambda: requests.get(f"{sim.url}/_sim/reports", timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/faults", json={}, timeout=TIMEOUT),
        lambda: requests.post(f"{sim.url}/_sim/deliver", json={"sender": "1"}, timeout=TIMEOUT),
    ]

    for call in calls:
        _, seconds = timed(call)
        assert seconds < 1.0  # a single trip would take 1 s

    assert sim.network_stats()["calls"] == 0


# -- command line --------------------------------------------------------------


def test_command_line_serves_until_sigterm() -> None:
    with command_line("infra.simulators.mmsc") as (process, port):
        assert wait_for_stats(f"http://127.0.0.1:{port}/_sim/stats")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
