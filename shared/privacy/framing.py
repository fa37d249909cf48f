"""Unambiguous byte strings from text parts, for MAC inputs and AEAD associated data.

Joining ("a|b", "c") and ("a", "b|c") with a separator gives the same bytes; a keyed
hash or an associated-data check over them could then be satisfied by another tenant's
or field's values. Each part is therefore preceded by its length.
"""

from __future__ import annotations


def framed(*parts: str) -> bytes:
    """`parts` as one byte string: each part's UTF-8 length (4 bytes, big-endian), then
    the part; no two different tuples of parts give the same bytes."""
    out = bytearray()
    for part in parts:
        encoded = part.encode()
        out += len(encoded).to_bytes(4, "big")
        out += encoded
    return bytes(out)
