"""Outside parties (a bank, a utility) that answer a bundle's step through an adapter.

An adapter gets only what the step declares (its shared fields and the outputs of the steps it
comes after) and answers `{"outcome": "approve"|"reject", "reason_zh", "reason_en", "outputs"}`.
Adapters are registered by the composition root (`twonets.bootstrap`) under the name a bundle's
step gives as its `party`; every request and answer goes into the audit chain (`bundle.party`).

`PartnerBank` is the demo district's partner bank: it lends up to 70% of the price, to a buyer
whose property transfer has been registered (it needs the certificate number to register the
mortgage), and answers with its loan contract number. A real bank plugs in the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

from twonets.core.errors import Conflict


class OutsideParty(Protocol):
    name_zh: str
    name_en: str

    def answer(self, step: str, request: Mapping[str, Any]) -> dict[str, Any]: ...


_parties: dict[str, OutsideParty] = {}


def register(name: str, party: OutsideParty) -> None:
    _parties[name] = party


def party(name: str) -> OutsideParty:
    p = _parties.get(name)
    if p is None:
        raise Conflict(f"no adapter for the outside party {name!r} is configured")
    return p


def names() -> set[str]:
    return set(_parties)


class PartnerBank:
    name_zh = "合作银行"
    name_en = "Partner bank"
    LOAN_SHARE = 0.7

    def answer(self, step: str, request: Mapping[str, Any]) -> dict[str, Any]:
        form = request.get("form") or {}
        price, loan = form.get("price"), form.get("loan_amount") or 0
        if not isinstance(price, (int, float)) or price <= 0:
            return {"outcome": "reject", "reason_zh": "缺少成交价", "reason_en": "No price given.", "outputs": {}}
        if loan > self.LOAN_SHARE * price:
            return {"outcome": "reject", "reason_zh": "贷款额超过成交价的七成", "reason_en": "The loan exceeds 70% of the price.",
                    "outputs": {}}
        digest = hashlib.sha256(f"{request.get('case')}:{step}".encode()).hexdigest()[:10].upper()
        return {"outcome": "approve", "reason_zh": "贷款审批通过", "reason_en": "Loan approved.",
                "outputs": {"contract_no": f"LN-{digest}", "loan_amount": loan}}
