"""A past year's settlement records run as if the person had been covered (the value estimate,
app/estimates): each record goes the way a one-tap claim on it goes (app/claims/settlement.py,
adjudication_run.run_claim and run_episode): the record's amounts, its 5204 fee lines matched
against the catalogues in force on the date of care, the engine with the year's accumulators
built up record by record in memory, and a later record of the same care episode paying only
the difference. Nothing is written; nothing fetched outlives the call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.adjudication.engine import adjudicate as run_engine
from app.adjudication.model import Accumulators, Adjudication, PolicyCover
from app.catalogues.matching import FeeLine
from app.claims import accumulators, rules, supplements
from app.claims import lines as claim_lines
from app.claims.adjudication_run import engine_claim, insured_of
from app.claims.episodes import EarlierClaim, EpisodeKey, same_episode, supplement_payable
from app.error_catalogue import E
from app.members.models import Person
from app.products.models import Product
from app.products.services import definition_of

if TYPE_CHECKING:
    from app.integrations.bureau.port import BureauPort
    from app.integrations.bureau.settlements import SettlementRecord

CANCELLED = "该笔结算已冲销，不计算"
NOT_COVERED_KIND = "该医疗类别不属于惠民保保障范围"


@dataclass(frozen=True)
class Fetched:
    """One settlement record as the bureau gave it, with its fee lines (None when the bureau's
    lines do not add up to the settlement, or for a record that is not claimable)."""

    record: SettlementRecord
    fee_lines: list[FeeLine] | None


@dataclass(frozen=True)
class RecordOutcome:
    record: SettlementRecord
    payable_fen: int
    result: Adjudication | None = None
    skipped: str | None = None  # why the record was not run (reversed, not a covered kind)
    episode_lines: tuple[dict, ...] = field(default=())


def fetch(port: BureauPort, psn_no: str, start, end) -> list[Fetched]:
    """The person's records for [start, end] and each claimable record's fee lines (bureau
    calls only: no transaction is open)."""
    from app.integrations.bureau.port import BureauUnavailable

    try:
        records = port.settlement_records(psn_no, start, end)
    except BureauUnavailable:
        raise E.bureau_unavailable() from None
    out = []
    for record in records:
        lines = None
        if not record.cancelled and record.care_kind is not None:
            lines = claim_lines.bureau_fee_lines(port, psn_no, record)
        out.append(Fetched(record, lines))
    return out


def added(acc: Accumulators, deltas: dict) -> Accumulators:
    """The accumulators plus one claim's deltas in their stored form (as a settle applies them)."""
    maps = {f: dict(getattr(acc, f)) for f in accumulators.KINDS.values()}
    for kind, amounts in deltas.items():
        target = maps[accumulators.KINDS[kind]]
        for raw, amount in amounts.items():
            key = accumulators.parse_key(kind, raw)
            target[key] = target.get(key, 0) + amount
    return Accumulators(**maps)


def _key(person: Person, record: SettlementRecord) -> EpisodeKey:
    return EpisodeKey(
        person=str(person.id),
        care_start=record.begndate,
        care_end=record.enddate or record.begndate,
        hospital_name=record.fixmedins_name or "",
        hospital_code=record.fixmedins_code or None,
        mdtrt_id=record.mdtrt_id or None,
    )


def run_year(
    session: Session,
    person: Person,
    product: Product,
    cover: PolicyCover,
    fetched: Sequence[Fetched],
    catalogue_product_id: int | None = None,
) -> list[RecordOutcome]:
    """Every record in order of care, each on the accumulators the earlier ones left (as if
    each claim had been settled when filed, in that order). Fee lines are matched against the
    catalogues in force on the date of care of `catalogue_product_id` (default: the product's
    own): for a past year, those of the product that covered that year (catalogues belong to a
    product and its dates, and next year's product has none for last year's dates)."""
    definition = definition_of(product)
    acc = Accumulators()
    earlier: list[tuple[EarlierClaim, dict]] = []
    out: list[RecordOutcome] = []
    for item in sorted(fetched, key=lambda f: (f.record.begndate, f.record.setl_id)):
        record = item.record
        if record.cancelled:
            out.append(RecordOutcome(record, 0, skipped=CANCELLED))
            continue
        if record.care_kind is None:
            out.append(RecordOutcome(record, 0, skipped=NOT_COVERED_KIND))
            continue
        amounts = rules.settlement_amounts(record, definition.settlement_providers)
        matched = None
        if item.fee_lines:
            matched = claim_lines.match(
                session,
                catalogue_product_id or product.id,
                definition,
                record.begndate,
                item.fee_lines,
                [p for p in (record.fixmedins_code, record.fixmedins_name) if p],
            )
            amounts["out_of_policy_self_pay_fen"] = matched.out_of_policy_self_pay_fen
            amounts["special_drugs_fen"] = matched.special_drugs_fen
        key = _key(person, record)
        same = {m.claim.claim_id for m in same_episode(key, [e for e, _ in earlier])}
        applied = [d for e, d in earlier if e.claim_id in same]
        result = run_engine(
            definition,
            engine_claim(
                amounts,
                record.care_kind,
                record.begndate,
                record.mdtrt_id or record.setl_id,
                claim_lines.engine_lines(matched),
                (record.dise_codg, record.dise_name),
            ),
            cover,
            insured_of(session, person, "healthy", product.plan_year, record.begndate),
            supplements.without(acc, applied) if applied else acc,
        )
        result = claim_lines.explained(result, matched, definition)
        deltas = accumulators.deltas_to_json(result.deltas)
        payable = result.payable_fen
        episode_lines: tuple[dict, ...] = ()
        if applied:
            previous = sum(e.paid_fen for e, _ in earlier if e.claim_id in same)
            recomputed = payable if result.decision != "not_payable" else 0
            payable = supplement_payable(previous, recomputed)
            deltas = supplements.net_deltas(deltas, applied)
            episode_lines = supplements.supplement_lines(
                "、".join(sorted(same)), previous, recomputed, payable
            )
        if result.decision != "not_payable":  # a refused claim is not live: it settles nothing
            acc = added(acc, deltas)
            earlier.append((EarlierClaim(record.setl_id, key, payable), deltas))
        out.append(RecordOutcome(record, payable, result, episode_lines=episode_lines))
    return out
