"""The MM7 corpus in tests/fixtures/mm7 (format in its README), and the bytes its files carry."""

from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parents[2] / "fixtures" / "mm7"

NS = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

# The binary parts of the corpus: CRLF, bare LF, bare CR, a boundary look-alike, bytes that
# are not UTF-8.
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\r\n\x00\x80\x81\xfe\n\r"
    b"--not-the-boundary\r\n\x00\xff\xd9"
)
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
    b"\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
# A 16x12 baseline JPEG (a yellow square on red), as a handset would send a photo.
SMALL_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb0043000d090a0b0a080d0b0a0b0e0e0d0f1320151312"
    "1213271c1e17202e2931302e292d2c333a4a3e333646372c2d405741464c4e525352323e5a615a50604a5152"
    "4fffdb0043010e0e0e131113261515264f352d354f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f"
    "4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4fffc0001108000c0010030122000211010311"
    "01ffc400160001010100000000000000000000000000000205ffc40020100001030402030000000000000000"
    "000003011112000205130431516191ffc4001501010100000000000000000000000000000506ffc4001a1100"
    "02030101000000000000000000000011120002211351ffda000c03010002110311003f00bc1e34191dfbee25"
    "bae2d0544edfca7aa6731a0c768d1712ed9279aa2f4de13dd670790703e831072ee172a3fca1b9073b6f3109"
    "1ea772ab7da0d2fd18e792956ce4e4ffd9"
)
SMIL = (
    b'<smil><head><layout><root-layout/></layout></head><body><par dur="5s">'
    b'<img src="cid:image-1"/><text src="cid:text-1"/></par></body></smil>'
)


@dataclass(frozen=True)
class Fixture:
    name: str
    content_type: str | None
    body: bytes


def load(name: str) -> Fixture:
    head, _, body = (FIXTURES / f"{name}.http").read_bytes().partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode("utf-8").splitlines())
    return Fixture(name, fields.get("Content-Type"), body)


def names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.http"))
