"""Signed appointment QR tokens: base45, what the verifier accepts and refuses,
and images that scan back to the same token."""

from __future__ import annotations

import io
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from vaxbook.qr.v1 import qr_pb2

from services.common.qr import (
    BASE45_ALPHABET,
    ERROR_LEVEL,
    QUIET_ZONE_MODULES,
    SIGNATURE_CONTEXT,
    TOKEN_PREFIX,
    QrRejected,
    QrSigner,
    RejectReason,
    base45_decode,
    base45_encode,
    decode_image,
    key_id_for,
    new_signing_key,
    private_key_bytes,
    private_key_from_bytes,
    public_key_bytes,
    public_key_from_bytes,
    qr_symbol,
    render_png,
    render_svg,
    verify,
)

# The largest QR version a typical token may need at ERROR_LEVEL: 81 modules a
# side, which phone cameras and clinic scanners read at arm's length.
MAX_QR_VERSION = 16
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"

TrustedKeys = dict[str, Ed25519PublicKey]


def timestamp(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


def realistic_claims(**overrides: object) -> qr_pb2.QrClaims:
    """Claims as the appointment service fills them: UUID ids, a long clinic
    name, and an issue time with microseconds."""
    fields: dict[str, object] = {
        "token_id": str(uuid.uuid4()),
        "appointment": f"appointments/{uuid.uuid4()}",
        "citizen_ref": uuid.uuid4().hex,
        "clinic": "clinics/riverside-community-health-centre",
        "slot_start_time": timestamp(datetime(2027, 3, 1, 9, 30, tzinfo=UTC)),
        "slot_end_time": timestamp(datetime(2027, 3, 1, 9, 45, tzinfo=UTC)),
        "vaccine": "comirnaty",
        "dose_number": 2,
        "issue_time": timestamp(datetime(2027, 2, 20, 14, 3, 27, 123456, tzinfo=UTC)),
    }
    fields.update(overrides)
    return qr_pb2.QrClaims(**fields)


@pytest.fixture(scope="module")
def signer() -> QrSigner:
    return QrSigner(*new_signing_key())


@pytest.fixture(scope="module")
def trusted(signer: QrSigner) -> TrustedKeys:
    return {signer.key_id: signer.public_key}


@pytest.fixture(scope="module")
def token(signer: QrSigner) -> str:
    return signer.sign(realistic_claims())


def signed_parts(token: str) -> qr_pb2.SignedQr:
    return qr_pb2.SignedQr.FromString(base45_decode(token.removeprefix(TOKEN_PREFIX)))


def as_token(signed: qr_pb2.SignedQr) -> str:
    return TOKEN_PREFIX + base45_encode(signed.SerializeToString())


def rejection_code(token: str, trusted: TrustedKeys) -> RejectReason:
    with pytest.raises(QrRejected) as rejected:
        verify(token, trusted)
    return rejected.value.code


# Base45.


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581")],
)
def test_base45_matches_the_rfc_9285_examples(data: bytes, text: str) -> None:
    assert base45_encode(data) == text
    assert base45_decode(text) == data


@pytest.mark.parametrize(
    "text",
    ["GGW", "ZZ", "A", "BB8A", "bb8", "BB#", "BBÉ"],
    ids=[
        "group-over-65535",
        "pair-over-255",
        "one-char",
        "dangling-char",
        "lowercase",
        "outside-alphabet",
        "non-ascii",
    ],
)
def test_base45_refuses_text_that_is_not_base45(text: str) -> None:
    with pytest.raises(ValueError):
        base45_decode(text)


@given(st.binary())
def test_base45_round_trips_any_bytes(data: bytes) -> None:
    assert base45_decode(base45_encode(data)) == data


# Keys.


def test_a_key_id_is_derived_from_the_public_key_alone() -> None:
    key_id, private_key = new_signing_key()
    published = public_key_from_bytes(public_key_bytes(private_key.public_key()))

    assert key_id_for(published) == key_id
    assert key_id != new_signing_key()[0]


def test_a_stored_private_key_signs_tokens_its_published_key_verifies() -> None:
    key_id, private_key = new_signing_key()
    restored = private_key_from_bytes(private_key_bytes(private_key))
    published = public_key_from_bytes(public_key_bytes(private_key.public_key()))

    token = QrSigner(key_id, restored).sign(realistic_claims())

    assert verify(token, {key_id: published}).dose_number == 2


# Signing and verifying.


def test_a_signed_token_verifies_to_every_claim_it_was_signed_with(
    signer: QrSigner, trusted: TrustedKeys
) -> None:
    claims = realistic_claims()

    token = signer.sign(claims)

    assert token.startswith(TOKEN_PREFIX)
    assert verify(token, trusted) == claims


def test_a_token_is_written_only_in_qr_alphanumeric_characters(token: str) -> None:
    assert set(token) <= set(BASE45_ALPHABET)


def test_a_flipped_byte_anywhere_in_the_claims_is_forged(
    token: str, trusted: TrustedKeys
) -> None:
    signed = signed_parts(token)

    for index in range(len(signed.claims)):
        tampered = qr_pb2.SignedQr()
        tampered.CopyFrom(signed)
        tampered.claims = flip_byte(signed.claims, index)
        assert rejection_code(as_token(tampered), trusted) == RejectReason.FORGED


def test_a_flipped_byte_anywhere_in_the_signature_is_forged(
    token: str, trusted: TrustedKeys
) -> None:
    signed = signed_parts(token)

    for index in range(len(signed.signature)):
        tampered = qr_pb2.SignedQr()
        tampered.CopyFrom(signed)
        tampered.signature = flip_byte(signed.signature, index)
        assert rejection_code(as_token(tampered), trusted) == RejectReason.FORGED


def flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]


@given(st.data())
def test_a_token_altered_in_any_character_never_verifies(
    token: str, trusted: TrustedKeys, data: st.DataObject
) -> None:
    index = data.draw(st.integers(len(TOKEN_PREFIX), len(token) - 1))
    replacement = data.draw(
        st.sampled_from(BASE45_ALPHABET).filter(lambda char: char != token[index])
    )

    with pytest.raises(QrRejected):
        verify(token[:index] + replacement + token[index + 1 :], trusted)


def test_a_token_signed_by_another_key_under_a_trusted_key_id_is_forged(
    signer: QrSigner, trusted: TrustedKeys
) -> None:
    impostor = QrSigner(signer.key_id, Ed25519PrivateKey.generate())

    token = impostor.sign(realistic_claims())

    assert rejection_code(token, trusted) == RejectReason.FORGED


def test_a_token_naming_a_key_the_verifier_does_not_hold_is_unknown_key(
    trusted: TrustedKeys,
) -> None:
    retired = QrSigner(*new_signing_key())

    token = retired.sign(realistic_claims())

    assert rejection_code(token, trusted) == RejectReason.UNKNOWN_KEY


def test_signed_bytes_that_are_not_claims_are_forged() -> None:
    # Only a leaked signing key could produce this; refuse it all the same.
    key_id, private_key = new_signing_key()
    junk = b"\xff\xff\xff"
    signed = qr_pb2.SignedQr(
        claims=junk,
        key_id=key_id,
        signature=private_key.sign(SIGNATURE_CONTEXT + junk),
    )

    trusted = {key_id: private_key.public_key()}
    assert rejection_code(as_token(signed), trusted) == RejectReason.FORGED


def test_a_signature_made_without_the_qr_context_is_forged() -> None:
    key_id, private_key = new_signing_key()
    claims = realistic_claims().SerializeToString()
    signed = qr_pb2.SignedQr(
        claims=claims, key_id=key_id, signature=private_key.sign(claims)
    )

    trusted = {key_id: private_key.public_key()}
    assert rejection_code(as_token(signed), trusted) == RejectReason.FORGED


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "VB1:",
        "VB1:BB8",
        "VB1:not base45",
        "VB2:BB8",
        "vb1:BB8",
        "https://example.org/?t=VB1:BB8",
        TOKEN_PREFIX + base45_encode(b"\x0a\x05ab"),
    ],
)
def test_garbage_and_empty_text_is_forged(text: str, trusted: TrustedKeys) -> None:
    assert rejection_code(text, trusted) == RejectReason.FORGED


@given(
    text=st.one_of(
        st.text(),
        st.text(alphabet=BASE45_ALPHABET).map(lambda text: TOKEN_PREFIX + text),
        st.binary().map(lambda data: TOKEN_PREFIX + base45_encode(data)),
    )
)
def test_arbitrary_text_is_rejected_with_nothing_but_qr_rejected(
    text: str, trusted: TrustedKeys
) -> None:
    with pytest.raises(QrRejected):
        verify(text, trusted)


@given(
    signed=st.builds(
        qr_pb2.SignedQr,
        claims=st.binary(min_size=1),
        key_id=st.text(min_size=1),
        signature=st.binary(min_size=64, max_size=64),
    )
)
def test_well_formed_but_unsigned_messages_are_rejected(
    signed: qr_pb2.SignedQr, trusted: TrustedKeys
) -> None:
    with pytest.raises(QrRejected):
        verify(as_token(signed), trusted)


# Images.


def test_a_typical_token_fits_a_qr_code_scanners_read_at_arms_length(
    token: str,
) -> None:
    symbol = qr_symbol(token)

    assert symbol.mode == "alphanumeric"
    assert symbol.version <= MAX_QR_VERSION
    assert symbol.error in (ERROR_LEVEL, "H")


def test_a_png_of_a_token_scans_back_to_exactly_that_token(token: str) -> None:
    assert decode_image(render_png(token)) == [token]


def test_a_jpeg_photo_of_a_token_scans_back_to_that_token(token: str) -> None:
    image = Image.open(io.BytesIO(render_png(token, scale=3))).convert("RGB")
    photo = io.BytesIO()
    image.save(photo, format="JPEG", quality=60)

    assert decode_image(photo.getvalue()) == [token]


def test_an_image_with_no_qr_code_decodes_to_nothing() -> None:
    blank = io.BytesIO()
    Image.new("L", (200, 200), color=255).save(blank, format="PNG")

    assert decode_image(blank.getvalue()) == []


@pytest.mark.parametrize(
    "image_bytes",
    [b"VB1:BB8", b"GIF89a\x01\x00\x01\x00", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"],
    ids=["text", "gif", "truncated-png"],
)
def test_bytes_that_are_not_a_png_or_jpeg_image_are_refused(
    image_bytes: bytes,
) -> None:
    with pytest.raises(ValueError):
        decode_image(image_bytes)


def test_a_truncated_png_of_a_token_is_refused(token: str) -> None:
    png = render_png(token)

    with pytest.raises(ValueError):
        decode_image(png[: len(png) // 2])


def test_the_svg_is_well_formed_and_sized_to_the_symbol(token: str) -> None:
    side = qr_symbol(token).symbol_size(scale=2, border=QUIET_ZONE_MODULES)[0]

    root = ET.fromstring(render_svg(token, scale=2))

    assert root.tag == f"{SVG_NAMESPACE}svg"
    assert (root.get("width"), root.get("height")) == (str(side), str(side))


def test_an_svg_of_a_token_scans_back_to_exactly_that_token(token: str) -> None:
    assert decode_image(rasterise_svg(render_svg(token))) == [token]


def rasterise_svg(svg: str, pixels_per_unit: int = 4) -> bytes:
    """A PNG of a segno SVG drawn at scale 1: its one path is moves and
    horizontal strokes, each stroke one module high centred on its y."""
    root = ET.fromstring(svg)
    side = int(root.get("width"))
    image = Image.new("L", (side, side), color=255)
    x = y = 0.0
    path = root.find(f"{SVG_NAMESPACE}path").get("d")
    for command, args in re.findall(r"([MmHh])([^MmHh]*)", path):
        numbers = [float(n) for n in re.findall(r"-?[\d.]+", args)]
        if command in "Mm":
            x, y = (0, 0) if command == "M" else (x, y)
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = numbers[0] if command == "H" else x + numbers[0]
            for column in range(int(x), int(end)):
                image.putpixel((column, int(y)), 0)
            x = end
    big = image.resize((side * pixels_per_unit,) * 2, Image.Resampling.NEAREST)
    out = io.BytesIO()
    big.save(out, format="PNG")
    return out.getvalue()
