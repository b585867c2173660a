"""Disclosure use cases: public statistics, the insurer's settlement (JSON and CSV), and the
member's FHIR export. Statistics and settlement read the maintained counters only
(aggregates.counters_for), never the raw order, policy or claim tables."""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, NamedTuple

from flask import Flask, current_app
from sqlalchemy import Select, String, bindparam, cast, func, select
from sqlalchemy.orm import Session

from app.common import hooks
from app.common.money import percent
from app.database import autocommit_read, read_scope
from app.disclosure import aggregates as agg
from app.disclosure.coinsurance import share_settlement
from app.disclosure.corridor import settle
from app.disclosure.metrics import FUNDING_SOURCES
from app.disclosure.statistics import product_statistics, rate_display
from app.products.models import Product

if TYPE_CHECKING:  # fhir.resources takes a second to import: only the FHIR export loads it
    from app.disclosure import fhir

# --- public statistics --------------------------------------------------------------------------


def public_statistics(*, plan_year: int | None = None, product_code: str | None = None) -> dict:
    """Every product (retired ones too: past years stay disclosed), or the one asked for, with
    its year and months; newest plan year first."""
    min_cell = current_app.config["DISCLOSURE_MIN_CELL"]

    def read(session: Session) -> dict:
        products, counters = _by_product(_statistics_rows(session, plan_year, product_code))
        return _statistics_body(session, products, counters, min_cell)

    return autocommit_read(read)


@dataclass(frozen=True)
class StatisticsAnswer:
    """The version of one public-statistics answer and, unless the caller already holds that
    version, its JSON body."""

    version: str  # SHA-256 (hex) of everything the body is built from
    body: bytes | None


# Bodies built lately, by version (per worker process): while no counter moves, a 200 costs the
# counter read and a dictionary look-up. Any event changes the version, so nothing stale is kept.
_BODIES: OrderedDict[str, bytes] = OrderedDict()
_BODIES_KEPT = 16
_BODIES_LOCK = threading.Lock()


def public_statistics_answer(
    *,
    plan_year: int | None = None,
    product_code: str | None = None,
    known: Callable[[str], bool] = lambda _version: False,
) -> StatisticsAnswer:
    """The public statistics as a version and a body. The version is a digest of the inputs of
    the body (the products' rows and definitions' digests, every counter cell, the minimum cell
    size), so it is computed from one read without building anything; when `known(version)`
    (the client's If-None-Match holds it) no body is built at all.

    One statement reads the products and their cells together (`_statistics_rows`), in
    autocommit mode (`database.autocommit_read`): on PostgreSQL a request is that one round
    trip, with neither BEGIN, ROLLBACK nor pre-ping (docs/performance.md, issue 13)."""
    min_cell = current_app.config["DISCLOSURE_MIN_CELL"]

    def read(session: Session) -> StatisticsAnswer:
        rows = _statistics_rows(session, plan_year, product_code)
        version = hashlib.sha256(repr((min_cell, rows)).encode()).hexdigest()
        if known(version):
            return StatisticsAnswer(version, None)
        with _BODIES_LOCK:
            body = _BODIES.get(version)
        if body is None:
            products, counters = _by_product(rows)
            data = _statistics_body(session, products, counters, min_cell)
            body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
            with _BODIES_LOCK:
                _BODIES[version] = body
                while len(_BODIES) > _BODIES_KEPT:
                    _BODIES.popitem(last=False)
        return StatisticsAnswer(version, body)

    return autocommit_read(read)


class _ProductRow(NamedTuple):
    id: int
    code: str
    name: str
    plan_year: int
    definition_sha256: str


# A product's cells travel as one string, "month|metric|dimension|value" joined by ";" (months
# are 'YYYY-MM'; metric and dimension names are identifiers, metrics.py), so a request reads one
# row per product instead of one per cell: that row and its digest are all a 304 costs. The
# database joins them in no particular order (an ordered aggregate cost PostgreSQL more than
# the whole read); sorting the cell strings here makes the version depend on the cells alone.
_FIELD, _CELL = "|", ";"


def _statistics_rows(
    session: Session, plan_year: int | None, product_code: str | None
) -> list[tuple]:
    """The products asked for (newest plan year first, then by code), each with its counter
    cells of its plan year (aggregates.cell_values) as sorted cell strings (see _CELL):
    (product id, code, name, plan year, definition digest, [cell, ...]). One statement, so
    one snapshot. An unknown product code is a 404."""
    query = _statistics_query(product_code is not None, plan_year is not None)
    params = {"product_code": product_code, "plan_year": plan_year}
    rows = [
        (*product, sorted(joined.split(_CELL)) if joined else [])
        for *product, joined in session.connection().execute(query, params).all()
    ]
    if not rows and product_code is not None:
        from app.products.services import get_product

        get_product(product_code, include_retired=True)  # 404 for an unknown code
    return rows


@functools.cache
def _statistics_query(by_code: bool, by_year: bool) -> Select:
    """The statement of `_statistics_rows` for each kind of filter, made once per process (its
    construction cost more than its execution): bound parameters product_code, plan_year."""
    p = Product.__table__.c
    chosen = []
    if by_code:
        chosen.append(p.code == bindparam("product_code"))
    if by_year:
        chosen.append(p.plan_year == bindparam("plan_year"))
    cells = agg.cell_values(select(p.id).where(*chosen) if chosen else None)
    text = (cells.c.month + _FIELD + cells.c.metric + _FIELD + cells.c.dimension + _FIELD) + cast(
        cells.c.value, String
    )
    per_product = (
        select(
            cells.c.product_id,
            cells.c.plan_year,
            func.aggregate_strings(text, _CELL).label("cells"),
        )
        .group_by(cells.c.product_id, cells.c.plan_year)
        .subquery("per_product")
    )
    return (
        select(p.id, p.code, p.name, p.plan_year, p.definition_sha256, per_product.c.cells)
        .outerjoin(
            per_product,
            (per_product.c.product_id == p.id) & (per_product.c.plan_year == p.plan_year),
        )
        .where(*chosen)
        .order_by(p.plan_year.desc(), p.code)
    )


def _by_product(rows: list[tuple]) -> tuple[list[_ProductRow], dict[tuple[int, int], dict]]:
    """`_statistics_rows` split into the product rows, in order, and their counter cells:
    {(product id, plan year): {(month, metric, dimension): value}}."""
    products: list[_ProductRow] = []
    counters: dict[tuple[int, int], dict] = {}
    for *columns, cells in rows:
        product = _ProductRow(*columns)
        products.append(product)
        values = counters[(product.id, product.plan_year)] = {}
        for cell in cells:
            month, metric, dimension, value = cell.split(_FIELD)
            values[(month, metric, dimension)] = int(value)
    return products, counters


def _statistics_body(session: Session, products, counters, min_cell: int) -> dict:
    """The body (plain JSON data, in the shape of schemas.StatisticsSchema)."""
    from app.products.services import definition_of

    result = []
    for row in products:
        population = definition_of(
            session.get_one(Product, row.id)
        ).disclosure.region_basic_insured_population
        result.append(
            {
                "product_code": row.code,
                "product_name": row.name,
                "plan_year": row.plan_year,
                "region_basic_insured_population": population,
                **product_statistics(
                    counters[(row.id, row.plan_year)],
                    plan_year=row.plan_year,
                    population=population,
                    min_cell=min_cell,
                ),
            }
        )
    return {"min_cell": min_cell, "products": result}


# --- insurer settlement -------------------------------------------------------------------------


def year_totals(cells: dict, metric: str) -> dict[str, int]:
    """A metric's year total per dimension, from one product's counter cells."""
    totals: dict[str, int] = {}
    for (_month, m, dimension), value in cells.items():
        if m == metric:
            totals[dimension] = totals.get(dimension, 0) + value
    return totals


def settlement_report(plan_year: int) -> dict:
    """Per product of the plan year: premiums, claims paid, loss ratio against the floor, the
    corridor, and what carries forward (app/disclosure/corridor.py)."""
    with read_scope() as session:
        products = list(
            session.scalars(
                select(Product).where(Product.plan_year == plan_year).order_by(Product.code)
            )
        )
        counters = agg.counters_for(session, [(p.id, p.plan_year) for p in products])
        rows = [settlement_row(p, counters[(p.id, p.plan_year)]) for p in products]
    return {"plan_year": plan_year, "products": rows}


def settlement_row(product: Product, cells: dict) -> dict:
    """One product's settlement from its counter cells (aggregates.counters_for): the row of the
    settlement report, and the operator dashboard's loss ratio."""
    from app.products.services import definition_of

    defn = definition_of(product)
    collected = year_totals(cells, agg.PREMIUMS_COLLECTED_FEN)
    refunded = year_totals(cells, agg.PREMIUMS_REFUNDED_FEN)
    paid = sum(year_totals(cells, agg.CLAIMS_PAID_FEN).values())
    net = sum(collected.values()) - sum(refunded.values())
    floor = defn.disclosure.loss_ratio_floor_bp or defn.bounds.loss_ratio_floor_bp
    result = settle(
        net_premium_fen=net,
        claims_paid_fen=paid,
        loss_ratio_floor_bp=floor,
        corridor=defn.disclosure.corridor,
    )
    return {
        "product_code": product.code,
        "product_name": product.name,
        "plan_year": product.plan_year,
        "premiums_collected_fen": sum(collected.values()),
        "premiums_collected_by_source_fen": {s: collected.get(s, 0) for s in FUNDING_SOURCES},
        "premiums_refunded_fen": sum(refunded.values()),
        "net_premium_fen": net,
        "claims_paid": sum(year_totals(cells, agg.CLAIMS_PAID).values()),
        "claims_paid_fen": paid,
        "loss_ratio_bp": result.loss_ratio_bp,
        "loss_ratio_display": (
            None if result.loss_ratio_bp is None else rate_display(result.loss_ratio_bp)
        ),
        "loss_ratio_floor_bp": result.loss_ratio_floor_bp,
        "meets_floor": result.meets_floor,
        "floor_shortfall_fen": result.floor_shortfall_fen,
        "corridor": None if result.corridor is None else asdict(result.corridor),
        "surplus_carried_forward_fen": result.surplus_carried_forward_fen,
        "insurer_margin_fen": result.insurer_margin_fen,
        "renegotiate": bool(result.corridor and result.corridor.renegotiate),
        "insurers": [
            asdict(share)
            for share in share_settlement(
                defn.insurers,
                premiums_collected_fen=sum(collected.values()),
                premiums_refunded_fen=sum(refunded.values()),
                settlement=result,
            )
        ],
    }


SOURCE_LABELS = {
    "personal_account": "医保个人账户",
    "wechat": "微信支付",
    "employer": "用人单位",
    "charity": "慈善组织",
    "relief_fund": "救助资金",
    "paired_assistance": "结对帮扶",
}
GROUP_TOTAL = "合计"
CSV_COLUMNS: tuple[tuple[str, Callable[[dict], object]], ...] = (
    ("产品代码", lambda r: r["product_code"]),
    ("产品名称", lambda r: r["product_name"]),
    ("保障年度", lambda r: r["plan_year"]),
    ("承保机构", lambda r: GROUP_TOTAL),
    ("承保份额", lambda r: percent(10000)),
    ("保费收入（分）", lambda r: r["premiums_collected_fen"]),
    *(
        (f"其中{label}（分）", (lambda r, s=source: r["premiums_collected_by_source_fen"][s]))
        for source, label in SOURCE_LABELS.items()
    ),
    ("退费（分）", lambda r: r["premiums_refunded_fen"]),
    ("净保费（分）", lambda r: r["net_premium_fen"]),
    ("赔付件数", lambda r: r["claims_paid"]),
    ("赔款支出（分）", lambda r: r["claims_paid_fen"]),
    ("赔付率（基点）", lambda r: r["loss_ratio_bp"]),
    ("赔付率", lambda r: r["loss_ratio_display"]),
    ("赔付率下限（基点）", lambda r: r["loss_ratio_floor_bp"]),
    ("达到下限", lambda r: _yes_no(r["meets_floor"])),
    ("距下限差额（分）", lambda r: r["floor_shortfall_fen"]),
    ("走廊区间", lambda r: r["corridor"] and r["corridor"]["band"]),
    ("保险公司留存（分）", lambda r: r["corridor"] and r["corridor"]["insurer_keeps_fen"]),
    ("费用补偿（分）", lambda r: r["corridor"] and r["corridor"]["cost_allowance_fen"]),
    ("返还基金（分）", lambda r: r["corridor"] and r["corridor"]["returned_fen"]),
    ("结转下年（分）", lambda r: r["surplus_carried_forward_fen"]),
    ("需重新议价", lambda r: _yes_no(r["renegotiate"])),
)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


# An insurer's row of the CSV: its share of the money columns; the ratios and verdicts are the
# group's and stay on the 合计 row.
INSURER_COLUMNS: dict[str, Callable[[dict, dict], object]] = {
    "承保机构": lambda r, i: i["name"] + ("（主承保）" if i["lead"] else ""),
    "承保份额": lambda r, i: percent(i["share_bp"]),
    "保费收入（分）": lambda r, i: i["premiums_collected_fen"],
    "退费（分）": lambda r, i: i["premiums_refunded_fen"],
    "净保费（分）": lambda r, i: i["net_premium_fen"],
    "赔款支出（分）": lambda r, i: i["claims_paid_fen"],
    "距下限差额（分）": lambda r, i: i["floor_shortfall_fen"],
    "保险公司留存（分）": lambda r, i: i["insurer_keeps_fen"],
    "费用补偿（分）": lambda r, i: i["cost_allowance_fen"],
    "返还基金（分）": lambda r, i: i["returned_fen"],
    "结转下年（分）": lambda r, i: i["surplus_carried_forward_fen"],
}
IDENTITY_COLUMNS = ("产品代码", "产品名称", "保障年度")


def _insurer_cell(name: str, get: Callable[[dict], object], row: dict, insurer: dict) -> object:
    if name in INSURER_COLUMNS:
        return INSURER_COLUMNS[name](row, insurer)
    return get(row) if name in IDENTITY_COLUMNS else None


def settlement_csv(report: dict) -> str:
    """The settlement as CSV for spreadsheet users: UTF-8 with a byte-order mark (so Excel reads
    the Chinese correctly), amounts in fen, empty where not applicable. Per product, a 合计 row
    with the group's figures, then one row per co-insurer (lead first) with its share of the
    money columns; each money column of the insurers' rows sums to the 合计 row's."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in CSV_COLUMNS])
    for row in report["products"]:
        writer.writerow(["" if (value := get(row)) is None else value for _, get in CSV_COLUMNS])
        for insurer in row["insurers"]:
            cells = (_insurer_cell(name, get, row, insurer) for name, get in CSV_COLUMNS)
            writer.writerow(["" if value is None else value for value in cells])
    return "\ufeff" + out.getvalue()


# --- FHIR export ---------------------------------------------------------------------------------

ClaimsProvider = Callable[
    [Session, int], Iterable["tuple[fhir.ClaimView, fhir.AdjudicationView | None]"]
]


def no_claims(_session: Session, _member_id: int) -> tuple:
    """For an app with no claims capability: the export has no claims."""
    return ()


def register_fhir_claims_provider(app: Flask, provider: ClaimsProvider | None) -> None:
    """The claims capability plugs in here (the hook point `disclosure.member_claims`):
    `provider(session, member_id)` yields the member's claims as (ClaimView, AdjudicationView or
    None). None says explicitly that there are no claims to export."""
    hooks.register(hooks.MEMBER_CLAIMS, provider or no_claims, app=app)


def patient_ref(person) -> fhir.PatientRef:
    """A person as a FHIR logical reference: a keyed pseudonym (HMAC of the person's row id under
    the blind-index key, in a domain of its own, so it matches no ID-number index) and the masked
    name."""
    from app.disclosure import fhir
    from app.identity.idnumber import mask_name

    key = current_app.config["BLIND_INDEX_KEY"]
    digest = hmac.new(key, f"fhir-patient:{person.id}".encode(), hashlib.sha256).hexdigest()
    return fhir.PatientRef(pseudonym=digest[:32], display=mask_name(person.name))


def payor_names(defn) -> tuple[str, ...]:
    """FHIR payors: the product's insurers, lead first, or the group's generic name."""
    from app.disclosure import fhir

    return tuple(i.name for i in defn.insurers) or (fhir.INSURER_NAME,)


def member_fhir_bundle(member_id: int):
    """The member's own records as a FHIR Bundle: a Coverage for each policy they may see (as
    the insured person or the payer), then each claim the registered provider gives, with its
    ClaimResponse when adjudicated."""
    from app.disclosure import fhir
    from app.enrollment.models import Order, OrderItem
    from app.members.models import Person
    from app.policies.services import list_policies
    from app.products.services import definition_of, get_product_by_id

    with read_scope() as session:
        resources: list[fhir.Resource] = []
        for policy in list_policies(member_id):
            item = session.get_one(OrderItem, policy.order_item_id)
            order = session.get_one(Order, item.order_id)
            holder = session.get(Person, order.payer_person_id) if order.payer_person_id else None
            product = get_product_by_id(policy.product_id)
            resources.append(
                fhir.coverage(
                    fhir.PolicyView(
                        policy_no=policy.policy_no,
                        status=policy.status,
                        plan_year=policy.plan_year,
                        product_code=product.code,
                        product_name=product.name,
                        coverage_start=policy.coverage_start,
                        coverage_end=policy.coverage_end,
                        beneficiary=patient_ref(session.get(Person, policy.person_id)),
                        relationship=item.relation,
                        policy_holder=patient_ref(holder) if holder is not None else None,
                        payor_names=payor_names(definition_of(product)),
                    )
                )
            )
        for claim_view, adjudication in hooks.call(hooks.MEMBER_CLAIMS, session, member_id):
            resources.append(fhir.claim(claim_view))
            if adjudication is not None:
                resources.append(fhir.claim_response(claim_view, adjudication))
    return fhir.bundle(resources)
