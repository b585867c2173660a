"""The special-drug service's rules as pure functions (no Flask, no database).

- approval_period: the dates an approval is valid (inclusive), from the day it is given, the
  validity in days (SPECIAL_DRUG_APPROVAL_DAYS) and the end of the policy's cover;
- listed_indication: the catalogue's spelling of the indication the member chose, or None;
- missing_proofs: what an application still lacks (a prescription and a diagnostic proof);
- purchase_outcome: what of a purchase counts as special-drug money, given the catalogue match
  (app.catalogues.matching.match_lines) and what is left of the drug's annual cap;
- retaken: a purchase whose reservation was given back (its claim's rejection was final) and
  whose claim is approved later: what it counted, within what is left of the cap now;
- supplement_hold: what a supplement (a later claim stating a whole stay) holds of a drug's cap.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.adjudication.model import ClaimLine
from app.catalogues.matching import LineMatch, cap_reason

# Document kinds an application takes: the prescription and the diagnostic proof (a pathology
# report or a gene test). A purchase claim copies them to the claim, whose special_drug kind
# asks for "prescription" and "pathology" (the diagnostic proof).
DOCUMENT_LABELS: dict[str, str] = {
    "prescription": "处方",
    "pathology": "病理报告",
    "gene_test": "基因检测报告",
}
DIAGNOSTIC_PROOFS = ("pathology", "gene_test")
CLAIM_DOC_TYPE = {
    "prescription": "prescription",
    "pathology": "pathology",
    "gene_test": "pathology",
}

# Why a reviewer rejects an application: code -> the member's text.
REJECT_REASONS: dict[str, str] = {
    "indication_not_met": "诊断与所申请的适应症不符",
    "proof_insufficient": "处方或诊断证明材料不足或不清晰",
    "prescription_invalid": "处方无效（非专科医生开具、超过有效期或信息不全）",
    "not_covered": "被保险人不在保障范围内",
    "other": "其他原因",
}

# Why the part of a purchase above the drug's annual cap does not count (one of the catalogue's
# LINE_REASONS: an itemised claim's line above the cap says the same).
CAP_REASON = "special_drug_annual_cap"


def approval_period(approved_on: date, validity_days: int, cover_ends: date) -> tuple[date, date]:
    """From the day of approval for `validity_days` days, never past the end of cover."""
    if validity_days <= 0:
        raise ValueError("validity_days must be positive")
    if approved_on > cover_ends:
        raise ValueError("approved after the end of cover")
    return approved_on, min(approved_on + timedelta(days=validity_days - 1), cover_ends)


def _norm(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).split())


def listed_indication(chosen: str, listed: Sequence[str]) -> str | None:
    """The catalogue's indication the member chose (compared after NFKC, ignoring spaces)."""
    wanted = _norm(chosen)
    for indication in listed:
        if _norm(indication) == wanted and wanted:
            return indication
    return None


def missing_proofs(doc_types: Iterable[str]) -> list[str]:
    """What an application still needs before it can be submitted: a prescription, and one
    diagnostic proof (pathology or gene test). Named by document kind."""
    have = set(doc_types)
    missing = [] if "prescription" in have else ["prescription"]
    if not have & set(DIAGNOSTIC_PROOFS):
        missing.append("pathology")
    return missing


@dataclass(frozen=True)
class PurchaseReason:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class PurchaseOutcome:
    """counted_fen is special-drug money (claim amount special_drugs); the rest of the purchase
    is out-of-policy self-pay off any list (the product's out-of-policy bucket does not count
    it). lines itemise both for the engine."""

    counted_fen: int
    lines: tuple[ClaimLine, ...]
    reasons: tuple[PurchaseReason, ...]

    def amounts(self, amount_fen: int) -> dict[str, int]:
        """The claim's amounts for a purchase of amount_fen."""
        return {
            "medfee_sumamt_fen": amount_fen,
            "special_drugs_fen": self.counted_fen,
            "out_of_policy_self_pay_fen": amount_fen - self.counted_fen,
        }


def cap_room(cap_fen: int | None, used_fen: int) -> int | None:
    """What is left of a cap (None: no cap)."""
    return None if cap_fen is None else max(cap_fen - used_fen, 0)


def purchase_outcome(
    match: LineMatch, *, drug_code: str, drug_name: str, amount_fen: int, room_fen: int | None
) -> PurchaseOutcome:
    """One purchase, matched as one fee line: the part the catalogue counts as a special drug,
    within what is left of the annual cap (room_fen, None: no cap), is counted; the rest is not,
    with the reasons why."""
    if amount_fen <= 0:
        raise ValueError("amount_fen must be positive")
    reasons = [PurchaseReason(r.code, r.zh, r.en) for e in match.explanations for r in e.reasons]
    return _within_cap(
        match.special_drugs_fen,
        reasons,
        drug_code=drug_code,
        drug_name=drug_name,
        amount_fen=amount_fen,
        room_fen=room_fen,
    )


def _within_cap(
    listed: int,
    reasons: list[PurchaseReason],
    *,
    drug_code: str,
    drug_name: str,
    amount_fen: int,
    room_fen: int | None,
) -> PurchaseOutcome:
    """`listed` of the purchase counted within what is left of the cap; the rest not."""
    counted = listed if room_fen is None else min(listed, room_fen)
    if counted < listed:
        over = cap_reason(room_fen or 0, listed - counted)
        reasons = [*reasons, PurchaseReason(over.code, over.zh, over.en)]
    lines = []
    if counted:
        lines.append(ClaimLine(drug_code, counted, True, "special_drugs", drug_name))
    if amount_fen - counted:
        lines.append(
            ClaimLine(drug_code, amount_fen - counted, False, "out_of_policy_self_pay", drug_name)
        )
    return PurchaseOutcome(counted, tuple(lines), tuple(reasons))


def line_json(line: ClaimLine) -> dict[str, object]:
    return {
        "item_code": line.item_code,
        "amount_fen": line.amount_fen,
        "on_commercial_list": line.on_commercial_list,
        "amount_kind": line.amount_kind,
        "name": line.name,
    }


def line_from_json(data: Mapping[str, Any]) -> ClaimLine:
    return ClaimLine(
        str(data["item_code"]),
        int(data["amount_fen"]),
        bool(data["on_commercial_list"]),
        str(data["amount_kind"]),
        str(data.get("name", "")),
    )


def retaken(
    counted_fen: int, *, drug_code: str, drug_name: str, amount_fen: int, room_fen: int | None
) -> PurchaseOutcome:
    """A purchase that counted `counted_fen` when it was filed, taken again on a later approval:
    what it counted, within what is left of the annual cap now (room_fen, None: no cap); the
    part above is not counted, with the cap's reason."""
    if not 0 <= counted_fen <= amount_fen:
        raise ValueError("counted_fen must be within the purchase")
    return _within_cap(
        counted_fen,
        [],
        drug_code=drug_code,
        drug_name=drug_name,
        amount_fen=amount_fen,
        room_fen=room_fen,
    )


def supplement_hold(counted_fen: int, earlier_fen: int) -> int:
    """What a claim holds of a drug's cap when its stay's earlier settled claims hold
    `earlier_fen` of it: what the stay counts now beyond that (a claim alone: all it counts;
    never negative: the earlier claims keep what they hold)."""
    return max(counted_fen - earlier_fen, 0)
