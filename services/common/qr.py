"""Signed appointment QR tokens: signing, offline verification, and images.

The appointment service signs a token when an appointment is confirmed; a clinic
scanner holding only public keys verifies it without calling anyone. A token is
``VB1:`` followed by the base45 text of a serialized ``SignedQr``, so every
character is in the QR alphanumeric set and the code stays as small as it can.
The signature is Ed25519 over a fixed context prefix and the claims bytes, so a
signature made for some other purpose with the same key never passes as a QR.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

import segno
import zxingcpp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from google.protobuf.message import DecodeError
from PIL import Image, UnidentifiedImageError
from vaxbook.qr.v1 import qr_pb2

TOKEN_PREFIX = "VB1:"
# Signed before the claims, so the signature is bound to this use and version.
SIGNATURE_CONTEXT = b"vaxbook-qr-v1\0"
SIGNATURE_LENGTH_BYTES = 64
# Hex digits of the public key's SHA-256 that name the key: 64 bits, ample to
# tell a handful of live keys apart while keeping every token short.
KEY_ID_HEX_DIGITS = 16

# Q restores a quarter of the code: enough for a cracked phone screen, glare at
# the clinic door, or a folded printout, at the cost of a somewhat larger code
# than M. segno raises it further when that needs no bigger version.
ERROR_LEVEL = "Q"
# Pixels per module in a PNG: a typical token (version 16, 81 modules and the
# quiet zone) is then 445 pixels wide, sharp on a phone screen and in print.
DEFAULT_PNG_SCALE = 5
# The quiet zone the QR standard asks for, in modules.
QUIET_ZONE_MODULES = 4

BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = {char: value for value, char in enumerate(BASE45_ALPHABET)}
_BASE45_PAIRS = {
    low + high: _BASE45_VALUES[low] + 45 * _BASE45_VALUES[high]
    for low in BASE45_ALPHABET
    for high in BASE45_ALPHABET
}


class RejectReason(StrEnum):
    """Why a token was not accepted; what a scanner shows and logs."""

    # Not a token we made, or altered since it was signed.
    FORGED = "FORGED"
    # Well formed, but signed by a key this verifier does not hold: a retired key,
    # or one published after the verifier last fetched keys.
    UNKNOWN_KEY = "UNKNOWN_KEY"


class QrRejected(Exception):
    """A token that must not be honoured, with the reason code first."""

    def __init__(self, code: RejectReason, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# Base45, RFC 9285.


def base45_encode(data: bytes) -> str:
    """Base45 text of ``data``: three characters for every two bytes."""
    chars: list[str] = []
    for start in range(0, len(data), 2):
        pair = data[start : start + 2]
        value = int.from_bytes(pair, "big")
        width = 3 if len(pair) == 2 else 2
        for _ in range(width):
            value, digit = divmod(value, 45)
            chars.append(BASE45_ALPHABET[digit])
    return "".join(chars)


def base45_decode(text: str) -> bytes:
    """The bytes behind base45 ``text``; ``ValueError`` if it is not base45."""
    if len(text) % 3 == 1:
        raise ValueError(f"base45 text of length {len(text)} has a dangling char")
    whole = len(text) - len(text) % 3
    out = bytearray()
    try:
        # Pairs of characters are looked up whole: a scanner decodes many
        # tokens a second, and this halves the work per group.
        for start in range(0, whole, 3):
            value = (
                _BASE45_PAIRS[text[start : start + 2]]
                + 2025 * _BASE45_VALUES[text[start + 2]]
            )
            if value > 0xFFFF:
                raise ValueError(
                    f"base45 group {text[start : start + 3]!r} is out of range"
                )
            out += value.to_bytes(2, "big")
    except KeyError:
        bad = next(char for char in text if char not in _BASE45_VALUES)
        raise ValueError(f"{bad!r} is not a base45 character") from None
    if whole < len(text):
        group = text[whole:]
        value = _base45_group_value(group)
        if value > 0xFF:
            raise ValueError(f"base45 group {group!r} is out of range")
        out.append(value)
    return bytes(out)


def _base45_group_value(group: str) -> int:
    """The number a base45 group stands for, least significant digit first."""
    value = 0
    for char in reversed(group):
        digit = _BASE45_VALUES.get(char)
        if digit is None:
            raise ValueError(f"{char!r} is not a base45 character")
        value = value * 45 + digit
    return value


# Keys.


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """The id a key is published under, derived from the key itself so the
    signer and every verifier agree on it without a registry."""
    digest = hashlib.sha256(public_key_bytes(public_key)).hexdigest()
    return digest[:KEY_ID_HEX_DIGITS]


def new_signing_key() -> tuple[str, Ed25519PrivateKey]:
    """A fresh signing key and the id its public half is published under."""
    private_key = Ed25519PrivateKey.generate()
    return key_id_for(private_key.public_key()), private_key


def public_key_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key, as published to scanners."""
    return public_key.public_bytes_raw()


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    """A public key back from its 32 raw bytes."""
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of a private key, for the signer's secret store only."""
    return private_key.private_bytes_raw()


def private_key_from_bytes(raw: bytes) -> Ed25519PrivateKey:
    """A private key back from its 32 raw bytes."""
    return Ed25519PrivateKey.from_private_bytes(raw)


# Signing and verifying.


class QrSigner:
    """Signs appointment claims into token text with one key."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.key_id = key_id
        self._private_key = private_key

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The key verifiers need under ``key_id``."""
        return self._private_key.public_key()

    def sign(self, claims: qr_pb2.QrClaims) -> str:
        """The token text for ``claims``, ready to render as a QR code."""
        claims_bytes = claims.SerializeToString(deterministic=True)
        signed = qr_pb2.SignedQr(
            claims=claims_bytes,
            key_id=self.key_id,
            signature=self._private_key.sign(SIGNATURE_CONTEXT + claims_bytes),
        )
        return TOKEN_PREFIX + base45_encode(signed.SerializeToString())


def verify(token: str, public_keys: Mapping[str, Ed25519PublicKey]) -> qr_pb2.QrClaims:
    """The claims of a genuine token, or ``QrRejected`` naming why not.

    Any text at all may arrive from a camera, so every failure of any step is a
    rejection, never another exception.
    """
    signed = _read_signed(token)
    public_key = public_keys.get(signed.key_id)
    if public_key is None:
        raise QrRejected(
            RejectReason.UNKNOWN_KEY,
            f"signed by key {signed.key_id!r}, which this verifier does not hold; "
            "fetch the current public keys",
        )
    try:
        public_key.verify(signed.signature, SIGNATURE_CONTEXT + signed.claims)
    except InvalidSignature:
        raise QrRejected(RejectReason.FORGED, "signature does not match") from None
    return _parse_claims(signed.claims)


def unverified_claims(token: str) -> qr_pb2.QrClaims:
    """What a token claims, its signature unchecked: only for choosing where
    to send it (which clinic's stream), never for trusting it."""
    return _parse_claims(_read_signed(token).claims)


def _read_signed(token: str) -> qr_pb2.SignedQr:
    """The ``SignedQr`` inside token text, checked for shape but not trusted."""
    if not token.startswith(TOKEN_PREFIX):
        raise QrRejected(RejectReason.FORGED, f"does not start with {TOKEN_PREFIX}")
    try:
        signed = qr_pb2.SignedQr.FromString(base45_decode(token[len(TOKEN_PREFIX) :]))
    except (ValueError, DecodeError) as error:
        raise QrRejected(RejectReason.FORGED, f"not a signed token: {error}") from None
    if not signed.key_id or not signed.claims:
        raise QrRejected(RejectReason.FORGED, "key id or claims missing")
    if len(signed.signature) != SIGNATURE_LENGTH_BYTES:
        raise QrRejected(RejectReason.FORGED, "signature has the wrong length")
    return signed


def _parse_claims(claims_bytes: bytes) -> qr_pb2.QrClaims:
    """Signed claims as a message; unreadable ones are refused like forgeries."""
    try:
        return qr_pb2.QrClaims.FromString(claims_bytes)
    except DecodeError:
        raise QrRejected(RejectReason.FORGED, "claims are unreadable") from None


def on_slot_day(slot_start: datetime, slot_end: datetime, now: datetime) -> bool:
    """Whether ``now`` falls on a day (UTC) the slot runs on: the only days
    its code is good for, online or offline."""
    today = now.astimezone(UTC).date()
    return slot_start.astimezone(UTC).date() <= today <= slot_end.astimezone(UTC).date()


# Images.


def qr_symbol(token: str) -> segno.QRCode:
    """The QR symbol for a token, in alphanumeric mode at ``ERROR_LEVEL``; its
    ``version`` and ``error`` say how large and how robust the code is."""
    return segno.make_qr(token, error=ERROR_LEVEL, mode="alphanumeric")


def render_png(token: str, scale: int = DEFAULT_PNG_SCALE) -> bytes:
    """A PNG of the token's QR code, ``scale`` pixels per module."""
    out = io.BytesIO()
    qr_symbol(token).save(out, kind="png", scale=scale, border=QUIET_ZONE_MODULES)
    return out.getvalue()


def render_svg(token: str, scale: float = 1) -> str:
    """An SVG document of the token's QR code, ``scale`` units per module."""
    out = io.BytesIO()
    qr_symbol(token).save(out, kind="svg", scale=scale, border=QUIET_ZONE_MODULES)
    return out.getvalue().decode("utf-8")


def decode_image(image_bytes: bytes) -> list[str]:
    """The text of every QR code found in a PNG or JPEG photo or rendering.

    Raises ``ValueError`` when the bytes are not a PNG or JPEG image at all.
    """
    try:
        image = Image.open(io.BytesIO(image_bytes), formats=["PNG", "JPEG"])
        gray = image.convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as error:
        raise ValueError(f"not a readable PNG or JPEG image: {error}") from None
    found = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]
