"""The seam between enrollment and sponsorship: where subsidy offers come from.

A provider is a callable `(session, product, defn, persons) -> list[SubsidyOffer]`, returning
offers in the order they should pay (the sponsorship capability registers its programme matcher
here). With no provider registered, nobody is subsidised.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from app.enrollment.quote import SubsidyOffer

Provider = Callable[..., list[SubsidyOffer]]


def register_provider(app, provider: Provider) -> None:
    app.extensions.setdefault("subsidy_providers", []).append(provider)


def offers_for(session, product, defn, persons) -> list[SubsidyOffer]:
    offers: list[SubsidyOffer] = []
    for provider in current_app.extensions.get("subsidy_providers", []):
        offers.extend(provider(session, product, defn, persons))
    return offers
