"""Product use cases: load the version-controlled definitions, find the product on sale, read a
product's definition and terms, and let an operator extend an enrollment window or retire a
product.

Loading is an idempotent upsert by code (a retired product stays retired): an unchanged file changes nothing; a changed file updates
the row (and adds a terms version when the terms version is new). A terms version, once published,
never changes: the same version with another text or title is refused (members agreed to it, and
their orders carry its digest). Plan years never change under a code.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.database import get_session, transaction
from app.error_catalogue import E
from app.errors import Forbidden
from app.products import plan_years
from app.products.definition import ProductDefinition
from app.products.loader import (
    CODE_PATTERN,
    DefinitionError,
    definition_from_json,
    definition_to_json,
    load_file,
    shipped_definition_paths,
)
from app.products.models import Product, ProductStatus, ProductTerms

PRODUCT_NOT_FOUND = "产品不存在"

# Parsed definitions by digest: a stored definition never changes under its digest.
_DEFINITIONS: dict[str, ProductDefinition] = {}


def definition_sha256(defn: ProductDefinition) -> str:
    canonical = json.dumps(
        definition_to_json(defn), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- loading ------------------------------------------------------------------------------------


def load_products(paths: Iterable[str | Path] | None = None) -> dict[str, int]:
    """Validate every file first (all problems reported together), then upsert them all in one
    transaction. `paths` defaults to the shipped definitions. Returns counts."""
    paths = [Path(p) for p in paths] if paths else shipped_definition_paths()
    if not paths:
        raise DefinitionError([("(文件)", "没有找到任何产品定义文件")])
    definitions: list[ProductDefinition] = []
    errors: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            defn = load_file(path)
        except DefinitionError as exc:
            errors.extend((f"{exc.source or path.name}: {where}", msg) for where, msg in exc.errors)
            continue
        if defn.code in seen:
            errors.append((f"{path.name}: code", f"产品代码“{defn.code}”与 {seen[defn.code]} 重复"))
            continue
        seen[defn.code] = path.name
        definitions.append(defn)
    if errors:
        raise DefinitionError(errors)

    summary = {
        "products": len(definitions),
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "terms_added": 0,
    }
    with transaction() as session:
        for defn in definitions:
            outcome, terms_added = _upsert(session, defn)
            summary[outcome] += 1
            summary["terms_added"] += int(terms_added)
    return summary


def _upsert(session, defn: ProductDefinition) -> tuple[str, bool]:
    sha = definition_sha256(defn)
    product = session.scalar(select(Product).where(Product.code == defn.code).with_for_update())
    if product is None:
        product = Product(code=defn.code, status=ProductStatus.PUBLISHED)
        _apply(product, defn, sha, defn.window_closes)
        session.add(product)
        session.flush()
        _add_terms(session, product, defn)
        audit(
            session,
            actor_type="system",
            actor_id=None,
            action="product.created",
            object_type="product",
            object_id=product.id,
            detail={"code": defn.code, "sha256": sha, "terms_version": defn.terms.version},
        )
        return "created", True

    if product.plan_year != defn.plan_year:
        raise E.product_plan_year_changed(
            f"产品 {defn.code} 的保障年度不能从 {product.plan_year} 改为 {defn.plan_year}"
        )
    terms = session.scalar(
        select(ProductTerms).where(
            ProductTerms.product_id == product.id, ProductTerms.version == defn.terms.version
        )
    )
    if terms is not None and (
        terms.sha256 != text_sha256(defn.terms.text) or terms.title != defn.terms.title
    ):
        raise E.terms_version_changed(
            f"产品 {defn.code} 的条款版本 {defn.terms.version} 已发布，内容不能修改；"
            "请使用新的条款版本号"
        )
    if product.definition_sha256 == sha and terms is not None:
        return "unchanged", False

    # An operator's extension survives a reload, as long as it still fits the coverage period.
    close = defn.window_closes
    if close < product.window_closes <= defn.coverage_ends:
        close = product.window_closes
    _apply(product, defn, sha, close)
    if terms is None:
        _add_terms(session, product, defn)
    audit(
        session,
        actor_type="system",
        actor_id=None,
        action="product.updated",
        object_type="product",
        object_id=product.id,
        detail={
            "code": defn.code,
            "sha256": sha,
            "terms_version": defn.terms.version,
            "window_closes": close.isoformat(),
        },
    )
    return "updated", terms is None


def _apply(product: Product, defn: ProductDefinition, sha: str, window_closes: date) -> None:
    product.name = defn.name
    product.plan_year = defn.plan_year
    product.region_prefix = defn.region_prefix
    product.window_opens = defn.window_opens
    product.window_closes = window_closes
    product.coverage_starts = defn.coverage_starts
    product.coverage_ends = defn.coverage_ends
    product.cover_start_rule = defn.cover_start_rule
    product.renews_code = defn.renews
    product.definition = definition_to_json(defn)
    product.definition_sha256 = sha


def _add_terms(session, product: Product, defn: ProductDefinition) -> None:
    session.add(
        ProductTerms(
            product_id=product.id,
            version=defn.terms.version,
            title=defn.terms.title,
            text=defn.terms.text,
            sha256=text_sha256(defn.terms.text),
        )
    )


# --- reading ------------------------------------------------------------------------------------


def list_products() -> list[Product]:
    """Published products, newest plan year first."""
    return list(
        get_session().scalars(
            select(Product)
            .where(Product.status == ProductStatus.PUBLISHED)
            .order_by(Product.plan_year.desc(), Product.window_opens.desc(), Product.code)
        )
    )


def on_sale(today: date) -> list[Product]:
    """The published plan years on sale on `today`, latest plan year first (plan_years.on_sale:
    inside the window, and a fixed-start year only until its cover starts)."""
    candidates = get_session().scalars(
        select(Product)
        .where(
            Product.status == ProductStatus.PUBLISHED,
            Product.window_opens <= today,
            Product.window_closes >= today,
        )
        .order_by(Product.id.desc())
    )
    return plan_years.on_sale(candidates, today)


def current_product(today: date) -> Product | None:
    """The product a member is offered by default on `today`: the latest plan year on sale."""
    selling = on_sale(today)
    return selling[0] if selling else None


def get_product(code: str, *, include_retired: bool = False) -> Product:
    """A product by code. A retired product is not on sale and not in the public catalogue, so it
    is a plain 404 unless `include_retired` (operator tools)."""
    product = None
    if isinstance(code, str) and CODE_PATTERN.fullmatch(code):
        product = get_session().scalar(select(Product).where(Product.code == code))
    if product is None or (product.status != ProductStatus.PUBLISHED and not include_retired):
        raise E.product_not_found()
    return product


def get_product_by_id(product_id: int) -> Product:
    """Any product by id, retired or not (orders and policies keep pointing at theirs)."""
    product = get_session().get(Product, product_id)
    if product is None:
        raise E.product_not_found()
    return product


def definition_of(product: Product) -> ProductDefinition:
    """The product's definition, with the window as it stands now (an operator may have extended
    it). Parsed once per definition digest."""
    defn = _DEFINITIONS.get(product.definition_sha256)
    if defn is None:
        defn = definition_from_json(product.definition)
        _DEFINITIONS[product.definition_sha256] = defn
    if defn.window_closes != product.window_closes:
        defn = replace(defn, window_closes=product.window_closes)
    return defn


# Session.info key: (the transaction, {product id: (definition digest, window_closes)}) as
# `definition_by_id` read them in it.
_READ_IN_TRANSACTION = "huimin.product_definitions"


def definition_by_id(session: Session, product_id: int) -> ProductDefinition:
    """`definition_of` the product with this id, without loading the Product (its `definition`
    JSON is large): a product the session already holds is used as it is; otherwise its digest
    and window are read (two columns, once per transaction: the rest of the transaction sees
    them as it would a loaded row) and the JSON only when its digest was never parsed here."""
    loaded = session.identity_map.get(identity_key(Product, product_id))
    if loaded is not None and not inspect(loaded).expired:
        return definition_of(loaded)
    row = _read_in_transaction(session).get(product_id)
    if row is None:
        found = session.execute(
            select(Product.definition_sha256, Product.window_closes).where(Product.id == product_id)
        ).one_or_none()
        if found is None:
            raise E.product_not_found()
        row = (found.definition_sha256, found.window_closes)
    defn, row = _parsed(session, product_id, row)
    # kept after a statement ran: the session's transaction has begun
    _read_in_transaction(session)[product_id] = row
    return defn


def definition_by_digest(
    session: Session, product_id: int, digest: str, window_closes: date
) -> ProductDefinition:
    """`definition_of` the product with this id, whose digest and window the caller read along
    with other columns: the JSON is read only when the digest was never parsed here."""
    return _parsed(session, product_id, (digest, window_closes))[0]


def _parsed(
    session: Session, product_id: int, row: tuple[str, date]
) -> tuple[ProductDefinition, tuple[str, date]]:
    defn = _DEFINITIONS.get(row[0])
    if defn is None:  # never parsed here: the digest, the window and the JSON read together
        found = session.execute(
            select(Product.definition_sha256, Product.window_closes, Product.definition).where(
                Product.id == product_id
            )
        ).one_or_none()
        if found is None:
            raise E.product_not_found()
        row = (found.definition_sha256, found.window_closes)
        defn = _DEFINITIONS.setdefault(row[0], definition_from_json(found.definition))
    if defn.window_closes != row[1]:
        defn = replace(defn, window_closes=row[1])
    return defn, row


def _read_in_transaction(session: Session) -> dict[int, tuple[str, date]]:
    """What `definition_by_id` read in the session's current transaction (empty in a new one)."""
    current = session.get_transaction()
    kept = session.info.get(_READ_IN_TRANSACTION)
    if current is not None and kept is not None and kept[0]() is current:
        return kept[1]
    read: dict[int, tuple[str, date]] = {}
    if current is not None:
        session.info[_READ_IN_TRANSACTION] = (weakref.ref(current), read)
    return read


def current_terms(product: Product) -> ProductTerms:
    """The terms version the product's current definition names (what a member must agree to)."""
    version = definition_of(product).terms.version
    terms = get_session().scalar(
        select(ProductTerms).where(
            ProductTerms.product_id == product.id, ProductTerms.version == version
        )
    )
    if terms is None:  # pragma: no cover - load_products always writes it
        raise E.terms_not_found()
    return terms


# --- operator actions ---------------------------------------------------------------------------


def retire_product(code: str, actor: Principal | None = None) -> Product:
    """Take a product off sale (and out of the public catalogue). Orders and policies keep it.
    Reloading its definition file does not publish it again."""
    _require_operator(actor)
    with transaction() as session:
        product = session.scalar(select(Product).where(Product.code == code).with_for_update())
        if product is None:
            raise E.product_not_found()
        if product.status == ProductStatus.RETIRED:
            return product
        product.status = ProductStatus.RETIRED
        _audit_operator(session, actor, "product.retired", product, {"code": code})
    return product


def _require_operator(actor: Principal | None) -> None:
    if actor is not None and (actor.kind != "staff" or actor.role != "operator"):
        raise Forbidden("只有运营人员可以执行该操作")


def _audit_operator(
    session, actor: Principal | None, action: str, product: Product, detail: dict
) -> None:
    audit(
        session,
        actor_type="staff" if actor else "system",
        actor_id=actor.id if actor else None,
        action=action,
        object_type="product",
        object_id=product.id,
        detail=detail,
    )


def close_window(code: str, last_day: date, actor: Principal | None = None) -> Product:
    """The operator closes enrollment early: `last_day` (inclusive) becomes the close date. It
    must be earlier than the current close and not before the day the window opened minus one
    (closing before opening means no enrollment at all, which retire is for)."""
    _require_operator(actor)
    with transaction() as session:
        product = session.scalar(select(Product).where(Product.code == code).with_for_update())
        if product is None:
            raise E.product_not_found()
        if last_day >= product.window_closes:
            raise E.window_not_shortened(
                f"新的投保截止日期必须早于当前截止日期 {product.window_closes.isoformat()}（延长请用 extend-window）"
            )
        if last_day < product.window_opens - timedelta(days=1):
            raise E.window_before_opening()
        previous = product.window_closes
        product.window_closes = last_day
        _audit_operator(
            session,
            actor,
            "product.window_closed",
            product,
            {"code": code, "from": previous.isoformat(), "to": last_day.isoformat()},
        )
    return product


def extend_window(code: str, new_close: date, actor: Principal | None = None) -> Product:
    """The city extended enrollment (根据需要可适当延长): move the close date later, never earlier
    and never past the end of coverage. `actor` is the operator (None: the command line)."""
    _require_operator(actor)
    with transaction() as session:
        product = session.scalar(select(Product).where(Product.code == code).with_for_update())
        if product is None:
            raise E.product_not_found()
        if product.status != ProductStatus.PUBLISHED:
            raise E.product_retired()
        if new_close <= product.window_closes:
            raise E.window_not_extended(
                f"新的投保截止日期必须晚于当前截止日期 {product.window_closes.isoformat()}"
            )
        if product.cover_start_rule == "fixed" and new_close > product.coverage_starts:
            raise E.window_beyond_coverage(
                "固定起保日的产品，投保截止日期不能晚于保障开始日期 "
                f"{product.coverage_starts.isoformat()}"
            )
        if new_close > product.coverage_ends:
            raise E.window_beyond_coverage(
                f"投保截止日期不能晚于保障结束日期 {product.coverage_ends.isoformat()}"
            )
        previous = product.window_closes
        product.window_closes = new_close
        _audit_operator(
            session,
            actor,
            "product.window_extended",
            product,
            {"code": code, "from": previous.isoformat(), "to": new_close.isoformat()},
        )
    return product
