"""Opaque page tokens for list calls."""

from __future__ import annotations

import base64
import binascii

from services.common.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# The largest OFFSET PostgreSQL takes (a bigint); no token of ours comes near it.
MAX_OFFSET = 2**63 - 1


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE) -> int:
    """The page size to use: ``default`` when unset, capped at the maximum."""
    if requested < 0:
        raise InvalidArgument(
            [FieldViolation("page_size", f"must not be negative, got {requested}")]
        )
    return min(requested or default, MAX_PAGE_SIZE)


def decode_offset(token: str) -> int:
    """The offset a page token stands for; 0 for the first page."""
    if not token:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(token).decode().split(":")
        if prefix != "offset" or not 0 <= int(offset) <= MAX_OFFSET:
            raise ValueError(token)
        return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(
            [FieldViolation("page_token", "is not a token this service issued")]
        ) from None


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def next_token(offset: int, size: int, fetched: int) -> str:
    """The token for the next page, given ``fetched`` rows from a query limited
    to ``size + 1``; empty when this page is the last."""
    return encode_offset(offset + size) if fetched > size else ""
