"""Revocation by the W3C Bitstring Status List v1.0, pure (no database).

Each department publishes its revocation lists at `<base>/api/v1/status-lists/<department>/<n>`:
list `n` holds the bits of licences `n * LIST_BITS … (n + 1) * LIST_BITS - 1` (a licence's number
in the list is its registry row number), bit set = revoked. The list is a
`BitstringStatusListCredential` whose `encodedList` is multibase base64url (`u`, no padding) of
the GZIP of the bitstring, index 0 being the most significant bit of the first byte; it is
sealed by the department like its licences. A licence's `credentialStatus` is the matching
`BitstringStatusListEntry`.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from typing import Any

LIST_BITS = 131_072  # the specification's minimum (16 KiB), for herd privacy
PURPOSE = "revocation"


def list_url(base: str, department: str, number: int) -> str:
    return f"{base}/api/v1/status-lists/{department}/{number}"


def position(index: int) -> tuple[int, int]:
    """(list number, bit within the list) of a registry index."""
    return divmod(index, LIST_BITS)


def entry(base: str, department: str, index: int) -> dict[str, Any]:
    number, bit = position(index)
    url = list_url(base, department, number)
    return {"id": f"{url}#{bit}", "type": "BitstringStatusListEntry", "statusPurpose": PURPOSE,
            "statusListIndex": str(bit), "statusListCredential": url}


def encode(bits_set: Iterable[int], size: int = LIST_BITS) -> str:
    raw = bytearray(size // 8)
    for bit in bits_set:
        if not 0 <= bit < size:
            raise ValueError(f"bit {bit} outside a list of {size}")
        raw[bit // 8] |= 0x80 >> (bit % 8)
    packed = gzip.compress(bytes(raw), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def is_set(encoded: str, bit: int) -> bool:
    if not encoded.startswith("u"):
        raise ValueError("encodedList is multibase base64url ('u…')")
    body = encoded[1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return bool(raw[bit // 8] & (0x80 >> (bit % 8)))


def list_credential(*, url: str, issuer: str, valid_from: str, bits_set: Iterable[int]) -> dict[str, Any]:
    """The unsigned status list credential (the caller seals it)."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": PURPOSE,
                              "encodedList": encode(bits_set)},
    }
