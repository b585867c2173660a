"""How many more people a programme can pay for, in the product it funds (a read).

The answer (`rules.Capacity`) counts the budget left at the most the programme pays for one
person (its rule on the product's highest premium) and its quota of people left, whichever is
smaller. Campaign pages show it as places left; campaign creation and roster uploads warn with
its numbers when they ask for more people than it covers.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.common.clock import today_shanghai
from app.products import plan_years
from app.products.definition import ProductDefinition
from app.products.models import Product, ProductStatus
from app.sponsors import rules
from app.sponsors.models import Programme


def product_of_programme(
    session, programme: Programme, *, on_sale_on: date | None = None
) -> Product | None:
    """The product a programme funds: a published product of its plan year (its own, when it
    names one), or None. A retired product is funded by nobody (it is not sold any more).

    Among several, with `on_sale_on` (the day people are enrolled or shown the offer: roster
    jobs, campaign pages, redemptions, posters, places left) the one on sale that day comes
    first; without it, and when none is on sale, the one whose window opened last."""
    query = select(Product).where(
        Product.status == ProductStatus.PUBLISHED, Product.plan_year == programme.plan_year
    )
    if programme.product_id is not None:
        query = query.where(Product.id == programme.product_id)
    candidates = list(
        session.scalars(query.order_by(Product.window_opens.desc(), Product.id.desc()))
    )
    if on_sale_on is not None:
        selling = plan_years.on_sale(candidates, on_sale_on)  # a stable sort: order kept
        if selling:
            return selling[0]
    return candidates[0] if candidates else None


def premium_max(defn: ProductDefinition) -> int:
    """The highest premium anyone pays for the product (its default or any rule's)."""
    return max([defn.premium_default_fen] + [r.premium_fen for r in defn.premium_rules])


def programme_capacity(session, programme: Programme) -> rules.Capacity | None:
    """None when no product of the programme's plan year is published yet."""
    from app.products.services import definition_of
    from app.sponsors.services import to_rule_programme

    product = product_of_programme(session, programme, on_sale_on=today_shanghai())
    if product is None:
        return None
    return rules.capacity(to_rule_programme(programme), premium_max(definition_of(product)))
