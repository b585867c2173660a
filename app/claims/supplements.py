"""Paid once, in the database: which of the person's other filed claims are the same care
episode as a claim (the pure rules are app/claims/episodes.py), and the engine run that treats a
later claim for a settled episode as a supplement.

A supplement's amounts state the whole episode (the bureau's record of the stay, or the bills
with the additions). The engine recomputes the episode against the accumulators as they would be
without the episode's settled claims, and the supplement pays only the difference from what was
approved on them (`supplement_payable`, never negative). Its accumulator deltas are the
recomputation's minus what the settled claims already added (never below zero per key), so the
episode is counted once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adjudication.model import Accumulators, Adjudication
from app.catalogues.matching import LineMatch
from app.claims import accumulators
from app.claims.episodes import EarlierClaim, EpisodeKey, EpisodeMatch, same_episode
from app.claims.models import Claim
from app.claims.statuses import ClaimStatus
from app.common.money import yuan

# Claims that may be part of an episode: filed and not refused.
LIVE_EXCLUDED = (ClaimStatus.DRAFT, ClaimStatus.REJECTED)
# Claims whose money (and accumulator use) has been settled.
SETTLED = (ClaimStatus.APPROVED, ClaimStatus.PAID, ClaimStatus.CLOSED)
FLAG = "same_episode"


def episode_key(claim: Claim) -> EpisodeKey | None:
    """The claim's care as the episode rules see it (None while it has no date of care)."""
    if claim.admitted_on is None:
        return None
    return EpisodeKey(
        person=str(claim.person_id),
        care_start=claim.admitted_on,
        care_end=claim.discharged_on or claim.admitted_on,
        hospital_name=claim.hospital_name or "",
        hospital_code=claim.hospital_code or None,
        mdtrt_id=claim.mdtrt_id or None,
        care_kind=claim.care_kind or None,
    )


def _earlier(claim: Claim) -> EarlierClaim | None:
    key = episode_key(claim)
    if key is None:
        return None
    return EarlierClaim(str(claim.id), key, claim.approved_fen or 0)


def live_claims(session: Session, person_id: int, *, exclude: int | None = None) -> list[Claim]:
    """The person's filed, not refused claims, oldest first."""
    query = select(Claim).where(Claim.person_id == person_id, Claim.status.not_in(LIVE_EXCLUDED))
    if exclude is not None:
        query = query.where(Claim.id != exclude)
    return list(session.scalars(query.order_by(Claim.id)))


def matches_for(key: EpisodeKey, claims: Iterable[Claim]) -> tuple[EpisodeMatch, ...]:
    earlier = [e for e in (_earlier(c) for c in claims) if e is not None]
    return same_episode(key, earlier)


def same_episode_claims(session: Session, claim: Claim) -> list[tuple[Claim, str]]:
    """The person's other live claims for the same care, with the match's message."""
    if episode_key(claim) is None:
        return []
    return same_episode_among(claim, live_claims(session, claim.person_id, exclude=claim.id))


def same_episode_among(claim: Claim, others: Iterable[Claim]) -> list[tuple[Claim, str]]:
    """Which of `others` (the person's other live claims, read by the caller) are the same care
    as `claim`, with the match's message."""
    key = episode_key(claim)
    if key is None:
        return []
    by_id = {c.id: c for c in others}
    return [(by_id[int(m.claim.claim_id)], m.message) for m in matches_for(key, by_id.values())]


def flag_text(matches: list[tuple[Claim, str]]) -> str:
    nos = "、".join(c.claim_no for c, _ in matches)
    return f"同一次就医已有理赔申请 {nos}（{matches[0][1]}），本申请按补充理赔人工审核"


@dataclass(frozen=True)
class EpisodeRun:
    """The engine's result, what this claim pays and adds to the accumulators, and (for a
    supplement) the episode figures behind it."""

    result: Adjudication
    payable_fen: int
    deltas: dict
    matched: LineMatch | None = None  # the itemised lines as matched (what they hold of caps)
    supplement_of: tuple[str, ...] = ()
    previous_fen: int = 0
    recomputed_fen: int = 0
    lines: tuple[dict, ...] = field(default=())

    def adjudication(self, base: dict) -> dict:
        """The engine's JSON with the supplement's figures and explanation added."""
        if not self.supplement_of:
            return base
        return base | {
            "payable_fen": self.payable_fen,
            "episode": {
                "supplement_of": list(self.supplement_of),
                "previous_fen": self.previous_fen,
                "recomputed_fen": self.recomputed_fen,
                "payable_fen": self.payable_fen,
            },
            "lines": [*map(_as_recomputed, base["lines"]), *self.lines, _total(self.payable_fen)],
        }


def _as_recomputed(line: dict) -> dict:
    """The engine's total, on a supplement, is the whole episode's recomputed figure: said so,
    so that the only 本次赔付合计 is what this claim pays (the last line)."""
    if line["code"] != "payable_total":
        return line
    amount = line["zh"].removeprefix("本次赔付合计").strip()
    return line | {
        "code": "episode_recomputed_total",
        "zh": f"整次就医重新计算合计 {amount}",
        "en": "recomputed for the whole episode: " + line["en"].removeprefix("total payable "),
    }


def _total(payable_fen: int) -> dict:
    y = yuan(payable_fen)
    return {
        "code": "payable_total",
        "zh": f"本次赔付合计 {y} 元",
        "en": f"total payable {y} yuan",
        "bucket": None,
    }


def without(acc: Accumulators, applied: Iterable[dict]) -> Accumulators:
    """The accumulators as they would be without the given claims' applied deltas."""
    maps = {f: dict(getattr(acc, f)) for f in accumulators.KINDS.values()}
    for deltas in applied:
        for kind, amounts in (deltas or {}).items():
            target = maps[accumulators.KINDS[kind]]
            for raw, amount in amounts.items():
                key = accumulators.parse_key(kind, raw)
                target[key] = max(target.get(key, 0) - amount, 0)
    return Accumulators(**maps)


def net_deltas(new: dict, applied: Iterable[dict]) -> dict:
    """What a supplement adds: the recomputation minus what the episode's settled claims
    already added, per key, never below zero."""
    out: dict = {}
    earlier: dict = {}
    for deltas in applied:
        for kind, amounts in (deltas or {}).items():
            for key, amount in amounts.items():
                earlier.setdefault(kind, {})
                earlier[kind][key] = earlier[kind].get(key, 0) + amount
    for kind, amounts in new.items():
        out[kind] = {}
        for key, amount in amounts.items():
            extra = amount - earlier.get(kind, {}).get(key, 0)
            if extra > 0:
                out[kind][key] = extra
    return out


def supplement_lines(nos: str, previous: int, recomputed: int, payable: int) -> tuple[dict, ...]:
    return (
        {
            "code": "episode_supplement",
            "zh": (
                f"同一次就医已由理赔 {nos} 核准 {yuan(previous)} 元；按本次材料重新计算"
                f"整次就医应赔 {yuan(recomputed)} 元，本次补付差额 {yuan(payable)} 元"
            ),
            "en": (
                f"The same episode was approved for {yuan(previous)} yuan on {nos}; "
                f"recomputed in full it is {yuan(recomputed)} yuan, so this claim pays "
                f"the difference, {yuan(payable)} yuan"
            ),
            "bucket": None,
        },
    )
