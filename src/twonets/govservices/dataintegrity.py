"""The Data Integrity cryptosuite `eddsa-jcs-2022` (W3C Recommendation "Data Integrity EdDSA
Cryptosuites v1.0", §3.3), pure: JCS (RFC 8785) canonical JSON, SHA-256, Ed25519, base58btc
multibase; and the `Multikey` encoding of Ed25519 public keys (`z6Mk…`).

Rules (as the Recommendation states them):
- creating: the proof is a clone of the proof options; when the document has an `@context`,
  the proof carries the same `@context` (Create Proof, step 2); the proof configuration is the
  proof so made, and the signed hash is SHA-256(JCS(proof configuration)) followed by
  SHA-256(JCS(document without its proof)); `proofValue` is `z` + base58btc(signature).
- verifying: the proof options are the proof as emitted less `proofValue`; when they carry an
  `@context`, the document's `@context` must start with it, in the same order, and the document
  is hashed with the proof's `@context`.
- Limit: licences issued by twonets before it followed the Recommendation have no
  `proof.@context` but were signed with the document's `@context` in the configuration (the
  pre-June-2024 draft). `verify_proof(..., legacy=True)` accepts that form for such proofs only;
  a generic Recommendation verifier rejects them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub (varint 0xed)
ED25519_PRIV = b"\x80\x26"  # multicodec ed25519-priv (varint 0x1300)


class ProofError(ValueError):
    """A proof that cannot be checked (wrong type, cryptosuite, encoding or context)."""


def canonical(value: Any) -> bytes:
    """JCS canonical form (RFC 8785) as UTF-8 bytes.

    A document of strings, integers within ±(2^53 − 1), booleans and nulls whose keys lie in the Basic
    Multilingual Plane (every credential twonets issues) is written by the standard library's
    C encoder: for such JSON, JCS's rules are exactly `json.dumps(sort_keys=True)` without ASCII
    escaping — members sorted by UTF-16 code units, which is code point order inside the BMP;
    only `"`, `\\` and control characters escaped, as \\b \\t \\n \\f \\r or lowercase \\u00xx;
    integers in plain digits. Anything else (floats, big integers, astral-plane keys, lone
    surrogates) goes through the `rfc8785` package."""
    if _plain(value):
        try:
            return _dumps(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the reference implementation decides
            pass
    return rfc8785.dumps(value)


_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode
_SAFE_INT = 2**53 - 1  # the reference refuses integers beyond (not exact as doubles)


def _plain(value: Any) -> bool:
    """Whether `value` is JSON whose JCS form equals the standard library's sorted, compact form."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str) or v is None or isinstance(v, bool):
            continue
        if isinstance(v, int):
            if -_SAFE_INT <= v <= _SAFE_INT:
                continue
            return False
        if isinstance(v, dict):
            for k in v:
                if not isinstance(k, str) or (k and ord(max(k)) > 0xFFFF):
                    return False
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        else:  # floats and anything else: the reference implementation
            return False
    return True


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        i = B58.find(ch)
        if i < 0:
            raise ValueError(f"not base58btc: {ch!r}")
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def multibase(data: bytes) -> str:
    return "z" + b58encode(data)


def from_multibase(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("z"):
        raise ValueError("only base58btc multibase ('z…') is used here")
    return b58decode(text[1:])


def multikey(public_raw: bytes) -> str:
    """`publicKeyMultibase` of an Ed25519 public key (Multikey)."""
    return multibase(ED25519_PUB + public_raw)


def public_from_multikey(text: str) -> bytes:
    raw = from_multibase(text)
    if raw[:2] != ED25519_PUB or len(raw) != 34:
        raise ValueError("not an Ed25519 Multikey public key")
    return raw[2:]


def private_from_multikey(text: str) -> bytes:
    """The 32-byte Ed25519 seed of a `secretKeyMultibase`/`privateKeyMultibase`."""
    raw = from_multibase(text)
    if raw[:2] != ED25519_PRIV or len(raw) != 34:
        raise ValueError("not an Ed25519 Multikey secret key")
    return raw[2:]


def _check_options(options: Mapping[str, Any]) -> None:
    if options.get("type") != PROOF_TYPE or options.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"not a {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}")


def proof_config(options: Mapping[str, Any]) -> dict[str, Any]:
    """Proof Configuration: a clone of the options (which already carry any `@context`)."""
    _check_options(options)
    return {k: v for k, v in options.items() if k != "proofValue"}


def hash_data(config: Mapping[str, Any], document: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical proof configuration, then of the canonical document (64 bytes)."""
    return hashlib.sha256(canonical(config)).digest() + hashlib.sha256(canonical(document)).digest()


def unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


def add_proof(document: Mapping[str, Any], options: Mapping[str, Any], sign: Callable[[bytes], bytes]) -> dict[str, Any]:
    """The document with an `eddsa-jcs-2022` proof made from `options` by `sign` (Ed25519)."""
    doc = unsecured(document)
    proof = dict(options)
    if "@context" in doc:
        proof["@context"] = doc["@context"]
    config = proof_config(proof)
    proof["proofValue"] = multibase(sign(hash_data(config, doc)))
    return {**doc, "proof": proof}


def _starts_with(context: Any, prefix: Any) -> bool:
    ctx = context if isinstance(context, list) else [context]
    pre = prefix if isinstance(prefix, list) else [prefix]
    return len(pre) <= len(ctx) and ctx[: len(pre)] == pre


def verify_proof(secured: Mapping[str, Any], public_key: Ed25519PublicKey, *, legacy: bool = False) -> bool:
    """True when the proof of `secured` verifies under `public_key` (Verify Proof of the
    Recommendation); `legacy` also accepts twonets' pre-Recommendation form (module docstring)."""
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise ProofError("no proof")
    _check_options(proof)
    try:
        signature = from_multibase(str(proof.get("proofValue", "")))
    except ValueError as exc:
        raise ProofError(str(exc)) from None
    doc = unsecured(secured)
    options = proof_config(proof)
    if "@context" in options:
        if not _starts_with(doc.get("@context"), options["@context"]):
            return False
        doc["@context"] = options["@context"]
    candidates = [options]
    if legacy and "@context" not in options and "@context" in doc:
        candidates.append({**options, "@context": doc["@context"]})
    for config in candidates:
        try:
            public_key.verify(signature, hash_data(config, doc))
            return True
        except (InvalidSignature, ValueError):
            continue
    return False
