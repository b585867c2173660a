"""The hook registry: the one way a capability asks another one, lower in the layer order, for
something it cannot import (e.g. enrollment asking sponsorship for subsidy offers, policies asking
claims whether a claim was filed), without an import upward (see [tool.importlinter] in
pyproject.toml and docs in ../shared/ARCHITECTURE.md "Layer order").

Every hook point is declared below, up front, with the arguments its implementations take, what
they return and who provides them. The providing capability registers its function once at app
start (`create_app`, app/__init__.py) with `register(name, fn, app=app)`; the asking capability
calls it with `call(name, ...)` (a hook with one implementation) or iterates `providers(name)`
(a hook with several, called in registration order).

Fails loudly: a name that is not declared here, a function whose parameters do not fit the
declared ones, and asking a hook that nobody registered all raise at once (`UnknownHook`,
`TypeError`, `HookMissing`), instead of the old `app.extensions.get(key, default)` that silently
answered "no claims" or "no subsidies" when a registration was forgotten. `create_app` also checks
with `check_registered(app)` that every hook point has an implementation before serving anything.

Registrations live per application (tests build many apps) under `app.extensions["hooks"]`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

_EXTENSION_KEY = "hooks"


@dataclass(frozen=True)
class HookPoint:
    name: str
    params: tuple[str, ...]  # the positional arguments every implementation is called with
    returns: str
    purpose: str
    provided_by: str
    many: bool = False  # several implementations, all asked; else one, a later one replaces it


SUBSIDY_OFFERS = "enrollment.subsidy_offers"
CLAIMS_FILED = "policies.claims_filed"
CLAIMS_PAID = "sponsors.claims_paid"
MEMBER_CLAIMS = "disclosure.member_claims"
CLAIM_LINES = "claims.claim_lines"
SPECIAL_DRUG_TERMS = "claims.special_drug_terms"
SPECIAL_DRUG_HOLD = "claims.special_drug_hold"
SPECIAL_DRUG_RETAKE = "claims.special_drug_retake"
OPEN_RECHECKS = "members.open_rechecks"
POLICY_SURRENDERED = "payments.policy_surrendered"

HOOK_POINTS: dict[str, HookPoint] = {
    point.name: point
    for point in (
        HookPoint(
            SUBSIDY_OFFERS,
            params=("session", "product", "defn", "persons"),
            returns="list[app.enrollment.quote.SubsidyOffer], in the order they should pay",
            purpose="who pays (part of) these persons' premium for this product: the quote and "
            "the order ask every provider and take the offers in registration order",
            provided_by="sponsors (app.sponsors.services.programme_offers)",
            many=True,
        ),
        HookPoint(
            CLAIMS_FILED,
            params=("session", "policy"),
            returns="list[date | None]: when care began, for each claim filed on this policy",
            purpose="the refund rule's 'no claim filed' check on surrender (a claim for care "
            "before cover does not count: app/policies/rules.py)",
            provided_by="claims (app.claims.services.claims_filed_on)",
            many=True,
        ),
        HookPoint(
            CLAIMS_PAID,
            params=("session", "policy_ids"),
            returns="app.sponsors.reports.ClaimsPaid: count and sum (fen) of the claims paid on "
            "the policies the SELECT `policy_ids` gives",
            purpose="the sponsor outcomes report",
            provided_by="claims (app.claims.services.claims_paid_on)",
        ),
        HookPoint(
            MEMBER_CLAIMS,
            params=("session", "member_id"),
            returns="iterable of (app.disclosure.fhir.ClaimView, AdjudicationView | None)",
            purpose="the claims in a member's FHIR export",
            provided_by="claims (app.claims.services.fhir_claims)",
        ),
        HookPoint(
            CLAIM_LINES,
            params=("session", "claim"),
            returns="tuple of app.adjudication.model.ClaimLine: the claim's itemised lines "
            "(empty when the provider knows nothing of this claim)",
            purpose="itemised lines of claims filed by a capability above claims (a special-drug "
            "purchase), so the engine can count a bucket limited to a list",
            provided_by="special drugs (app.special_drugs.purchases.claim_lines_for)",
            many=True,
        ),
        HookPoint(
            SPECIAL_DRUG_TERMS,
            params=("session", "person_id", "product_id", "plan_year", "claim_id"),
            returns="app.catalogues.matching.SpecialDrugTerms: the person's special-drug "
            "approvals for the product, and each drug's annual cap use in the plan year by "
            "everything but the claim `claim_id` (None: an estimate, no claim)",
            purpose="itemised lines (a claim's, an estimate's, the hospital counter's) count a "
            "drug that needs an approval under the person's approval, within the drug's cap",
            provided_by="special drugs (app.special_drugs.usage.terms_for)",
        ),
        HookPoint(
            SPECIAL_DRUG_HOLD,
            params=("session", "claim", "match"),
            returns="None; raises app.claims.accumulators.StaleAccumulators when a cap's use "
            "moved since `match` read it (run the engine again)",
            purpose="a claim whose money is settled holds what its matched lines "
            "(app.catalogues.matching.LineMatch) count of each drug's annual cap; match None "
            "gives it back (the approval undone)",
            provided_by="special drugs (app.special_drugs.usage.hold_for_claim)",
        ),
        HookPoint(
            SPECIAL_DRUG_RETAKE,
            params=("session", "claim"),
            returns="tuple[dict, ...]: explanation lines (code, zh, en, bucket) for what of the "
            "claim's special-drug money no longer counts; StaleAccumulators when a cap moved "
            "since it was read (run it again)",
            purpose="a claim about to be approved whose filing reserved a drug's annual cap and "
            "gave it back when its rejection became final (a human review approves it later) "
            "takes it again within what is left, and its amounts become what counts",
            provided_by="special drugs (app.special_drugs.purchases.retake_for_claim)",
        ),
        HookPoint(
            OPEN_RECHECKS,
            params=("session", "member_id"),
            returns="list of app.members.privacy_rules.OpenRecheck: the member's claims a "
            "reviewer rejected that they may still take to 复核 now, with each deadline",
            purpose="the closure preview warns that closing the account gives up the right to "
            "ask for those rechecks",
            provided_by="claims (app.claims.recheck.open_rechecks)",
        ),
        HookPoint(
            POLICY_SURRENDERED,
            params=("session", "policy_id"),
            returns="None",
            purpose="a policy has just been surrendered (退保), in the transaction that moved it "
            "from active, once per policy: what it held elsewhere is given back (an invite "
            "campaign's place, as the sponsor refund gives back the programme's budget)",
            provided_by="campaigns (app.campaigns.surrender.release_place)",
            many=True,
        ),
    )
}


class UnknownHook(LookupError):
    """A hook name that is not declared in HOOK_POINTS (a typo, or a point never declared)."""


class HookMissing(RuntimeError):
    """A declared hook point that nobody registered an implementation for."""


def point(name: str) -> HookPoint:
    try:
        return HOOK_POINTS[name]
    except KeyError:
        raise UnknownHook(
            f"no hook point {name!r}; declared: {', '.join(sorted(HOOK_POINTS))}"
        ) from None


def _slots(app: Flask) -> dict[str, list[Callable]]:
    return app.extensions.setdefault(_EXTENSION_KEY, {})


def _slot(app: Flask, hook: HookPoint) -> list[Callable]:
    return _slots(app).setdefault(hook.name, [])


def register(name: str, fn: Callable, *, app: Flask | None = None) -> None:
    """Register `fn` for the hook point `name` (at app start). A hook with one implementation
    keeps the latest registration; a `many` hook appends."""
    hook = point(name)
    if not callable(fn):
        raise TypeError(f"hook {name!r}: {fn!r} is not callable")
    try:
        inspect.signature(fn).bind(*hook.params)
    except TypeError as exc:
        raise TypeError(
            f"hook {name!r}: {getattr(fn, '__qualname__', fn)!r} must take ({', '.join(hook.params)}): {exc}"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): take it on trust
        pass
    slot = _slot(app if app is not None else current_app, hook)
    if not hook.many:
        slot.clear()
    slot.append(fn)


def providers(name: str, *, app: Flask | None = None) -> tuple[Callable, ...]:
    """Every implementation registered for `name`, in registration order; `HookMissing` when
    there is none."""
    hook = point(name)
    found = tuple(_slot(app if app is not None else current_app, hook))
    if not found:
        raise HookMissing(
            f"hook {name!r} has no implementation registered ({hook.purpose}; provided by "
            f"{hook.provided_by}): register it in create_app with hooks.register({name!r}, fn)"
        )
    return found


def call(name: str, *args: Any) -> Any:
    """Call the one implementation of a single-implementation hook point."""
    hook = point(name)
    if hook.many:
        raise TypeError(f"hook {name!r} has several implementations: iterate providers()")
    (fn,) = providers(name)
    return fn(*args)


def check_registered(app: Flask) -> None:
    """Every declared hook point has an implementation (create_app calls this last)."""
    for name in HOOK_POINTS:
        providers(name, app=app)
