"""The seam between enrollment and sponsorship: where subsidy offers come from.

Offers come through the hook point `hooks.SUBSIDY_OFFERS` (app/common/hooks.py): a provider is a
callable `(session, product, defn, persons) -> list[SubsidyOffer]`, returning offers in the order
they should pay (the sponsorship capability registers its programme matcher at app start). The
registry fails loudly when nobody registered one, instead of answering "nobody is subsidised".
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from app.common import hooks
from app.enrollment.quote import SubsidyOffer

Provider = Callable[..., list[SubsidyOffer]]


def register_provider(app: Flask, provider: Provider) -> None:
    """Add one more provider (tests add their own beside the sponsorship one)."""
    hooks.register(hooks.SUBSIDY_OFFERS, provider, app=app)


def offers_for(session, product, defn, persons) -> list[SubsidyOffer]:
    offers: list[SubsidyOffer] = []
    for provider in hooks.providers(hooks.SUBSIDY_OFFERS):
        offers.extend(provider(session, product, defn, persons))
    return offers
