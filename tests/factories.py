"""Builders of test state, for tests where the HTTP that would make it is not under test.

A test of the claims API needs a member with a paid policy; making that member through
`POST /auth/wechat/login`, `/me/identity`, `/me/relatives`, `/orders` and `/orders/<id>/payments`
costs a request (routing, schema, JWT, limiter, serialisation) per step and says nothing the
enrollment tests do not already say. These builders write the same rows through the app's own
functions instead:

- members: the openid the WeChat adapter gives for a login code, so a later real login with that
  code finds the same member; tokens from the app's token service (`login`, `staff_token`);
- people: looked up in the configured bureau and stored with `app.identity.services.upsert_person`
  (encrypted ID number, blind index), never with encryption code of their own;
- orders and policies: planned from the app's quote (`get_quote`) and written by the one
  enrollment writer (`write_enrollments`); paid with `app.payments.services.start_payment`;
- claims: `app.claims.services` (create, upload, submit runs the engine, reviewer actions);
- organisations, programmes and staff accounts: `app.sponsors.services`, `create_staff_account`.

Each builder takes the app and opens its own app context, so it can be called from a fixture or a
test alike. Rate limits (flask-limiter's per-route ones, the verification limits) are not counted:
the builders stand for state that already exists, not for attempts.
"""

from __future__ import annotations

import io
import secrets
from datetime import date

from flask import Flask
from sqlalchemy import select

from app.audit.services import record as audit
from app.auth.models import ORGANISATION_ROLES, StaffAccount
from app.auth.principal import Principal
from app.auth.services import create_staff_account, issue_tokens, staff_claims
from app.common.clock import today_shanghai
from app.config import Config
from app.database import get_session, transaction, utcnow
from app.enrollment.services import Selection, get_quote, member_order_plan, record_order_created
from app.enrollment.writer import write_enrollments
from app.identity import services as identity
from app.integrations import registry
from app.members.models import Consent, Member, Relative
from app.members.services import GUARDIAN_CONSENT_AGE
from app.policies.models import Policy
from app.products import services as products

# The consent texts in force (app/config.py): what the API would have recorded.
CONSENT_VERSION = Config.PI_CONSENT_TEXT_VERSION
GUARDIAN_VERSION = Config.GUARDIAN_CONSENT_TEXT_VERSION
STAFF_PASSWORD = "long-enough-pass"  # tests/security/support.py ORG_ADMIN_PASSWORD


# --- members and their tokens ------------------------------------------------------------------


def member(app: Flask, code: str) -> int:
    """The member a WeChat login with `code` would be (made if new); their id."""
    with app.app_context():
        openid = registry.wechat_login().code_to_session(code).openid
        with transaction() as session:
            found = session.scalar(select(Member).where(Member.openid == openid))
            if found is None:
                found = Member(openid=openid, last_login_at=utcnow())
                session.add(found)
                session.flush()
            return found.id


def tokens(app: Flask, subject_type: str, subject_id: int, extra: dict | None = None) -> dict:
    """An access token and a stored refresh token, as a login answers them."""
    with app.app_context(), transaction() as session:
        pair, _ = issue_tokens(session, subject_type, subject_id, extra=extra)
        return {
            "access_token": pair.access_token,
            "token_type": pair.token_type,
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh_token,
        }


def login(app: Flask, code: str) -> dict:
    """What `POST /auth/wechat/login` answers for `code` (`member_id` and the token pair)."""
    member_id = member(app, code)
    with app.app_context():
        verified = get_session().get(Member, member_id).person_id is not None
        get_session().rollback()
    return {
        **tokens(app, "member", member_id),
        "member_id": member_id,
        "identity_verified": verified,
    }


# --- people, identities and relatives ----------------------------------------------------------


def _person(session, resident) -> tuple[int, int]:
    """The bureau's record of `resident` stored as a verified person; (person id, age today)."""
    id_number = identity.parse_id_number(resident.certno)
    found = registry.bureau().lookup_person(id_number.value, resident.name)
    assert found is not None, f"the bureau does not know {resident.name}"
    person = identity.upsert_person(session, id_number, found)
    return person.id, id_number.age_on(today_shanghai())


def person(app: Flask, resident) -> int:
    """A verified person (encrypted ID number, blind index, the bureau's snapshot); their id."""
    with app.app_context(), transaction() as session:
        return _person(session, resident)[0]


def verify(app: Flask, member_id: int, resident) -> int:
    """`member_id` verified as `resident`, with the consent and audit row a verification leaves;
    the person's id."""
    with app.app_context(), transaction() as session:
        person_id, _ = _person(session, resident)
        session.get(Member, member_id).person_id = person_id
        session.add(
            Consent(
                member_id=member_id,
                subject_person_id=person_id,
                purpose="identity_verification",
                text_version=CONSENT_VERSION,
            )
        )
        audit(
            session,
            actor_type="member",
            actor_id=member_id,
            action="identity.verified",
            object_type="person",
            object_id=person_id,
        )
        return person_id


def verified_member(app: Flask, code: str, resident) -> dict:
    """Logged in (`login`) and verified as `resident`."""
    member_id = member(app, code)
    verify(app, member_id, resident)
    return login(app, code)


def relative(app: Flask, member_id: int, resident, relation: str) -> int:
    """`resident` added as the member's relative (a child under 14 with the guardian's consent,
    as the API asks); the relative's id."""
    with app.app_context(), transaction() as session:
        person_id, age = _person(session, resident)
        session.add(
            Consent(
                member_id=member_id,
                subject_person_id=person_id,
                purpose="identity_verification",
                text_version=CONSENT_VERSION,
            )
        )
        guardian = None
        if age < GUARDIAN_CONSENT_AGE:
            guardian = Consent(
                member_id=member_id,
                subject_person_id=person_id,
                purpose="guardian",
                text_version=GUARDIAN_VERSION,
            )
            session.add(guardian)
            session.flush()
        row = Relative(
            member_id=member_id,
            person_id=person_id,
            relation=relation,
            guardian_consent_id=guardian.id if guardian else None,
        )
        session.add(row)
        audit(
            session,
            actor_type="member",
            actor_id=member_id,
            action="relative.added",
            object_type="person",
            object_id=person_id,
            detail={"relation": relation},
        )
        session.flush()
        return row.id


def estimate_consent(app: Flask, member_id: int) -> None:
    """The member's separate consent to the value estimate (app/estimates), recorded."""
    from app.estimates.services import grant_consent

    with app.app_context():
        grant_consent(member_id, True, app.config["ESTIMATE_CONSENT_TEXT_VERSION"])


# --- orders and policies -----------------------------------------------------------------------


def order(
    app: Flask,
    member_id: int,
    relative_ids=(),
    include_self: bool = True,
    method: str | None = "personal_account",
    *,
    pay: bool = False,
) -> dict:
    """An order of the member's for the current product, planned from the app's quote and written
        by `write_enrollments` (with the audit row placing an order leaves); with `pay`, paid through
        `start_payment` (personal account: paid, policies issued; WeChat: awaiting the payer) unless
    subsidies left nothing to pay.
        Returns {"id", "order_no", "status", "payments": [status, ...],
        "policies": [{"id", "policy_no", "person_id"}]}."""
    with app.app_context():
        product, q, _ = get_quote(member_id, None, Selection(include_self, tuple(relative_ids)))
        assert q.all_eligible, [r.code for line in q.lines for r in line.reasons]
        defn = products.definition_of(product)
        terms = products.current_terms(product)
        session = get_session()
        payer = session.get(Member, member_id).person_id
        relation = {payer: "self"} | dict(
            session.execute(
                select(Relative.person_id, Relative.relation).where(
                    Relative.id.in_(list(relative_ids))
                )
            ).all()
        )
        session.rollback()
        plan = member_order_plan(product.id, defn, terms, member_id, payer, q, relation, method)
        with transaction() as session:
            [written] = write_enrollments(session, plan)
            record_order_created(session, member_id, written.order_id, len(q.lines), terms.version)
        if pay and q.total_pay_fen > 0:  # nothing to pay when subsidies cover the premium
            from app.payments.services import start_payment

            start_payment(member_id, written.order_id, method)
        return _order_view(written.order_id)


def _order_view(order_id: int) -> dict:
    from app.enrollment.models import Order, OrderItem, Payment

    session = get_session()
    row = session.get(Order, order_id)
    payments = session.scalars(
        select(Payment.status).where(Payment.order_id == order_id).order_by(Payment.id)
    ).all()
    policies = session.execute(
        select(Policy.id, Policy.policy_no, Policy.person_id)
        .join(OrderItem, Policy.order_item_id == OrderItem.id)
        .where(OrderItem.order_id == order_id)
        .order_by(Policy.id)
    ).all()
    view = {
        "id": row.id,
        "order_no": row.order_no,
        "status": str(row.status),
        "payments": [str(p) for p in payments],
        "policies": [dict(p._mapping) for p in policies],
    }
    session.rollback()
    return view


# --- staff, organisations and programmes -------------------------------------------------------


def staff_account(
    app: Flask,
    username: str,
    role: str,
    organisation_id: int | None = None,
    password: str = STAFF_PASSWORD,
) -> int:
    """A staff account (`create_staff_account`); its id."""
    with app.app_context():
        return create_staff_account(
            username=username,
            role=role,
            password=password,
            display_name="x",
            organisation_id=organisation_id,
        ).id


def staff_token(app: Flask, username: str) -> str:
    """An access token for the staff account, with the claims a staff login puts in it."""
    with app.app_context():
        account = get_session().scalar(
            select(StaffAccount).where(StaffAccount.username == username)
        )
        assert account is not None and account.active, username
        claims = staff_claims(account)
        subject = ("staff", account.id)
        get_session().rollback()
    return tokens(app, *subject, extra=claims)["access_token"]


def staff_principal(app: Flask, username: str) -> Principal:
    with app.app_context():
        account = get_session().scalar(
            select(StaffAccount).where(StaffAccount.username == username)
        )
        principal = Principal("staff", account.id, account.role, account.organisation_id)
        get_session().rollback()
        return principal


OPERATOR = Principal(kind="staff", id=1, role="operator")  # tests/security/support.py does too
USCC_PREFIX = {"employer": "91", "charity": "51"}


def uscc(first17: str) -> str:
    from app.sponsors.rules import uscc_check_char

    return first17 + uscc_check_char(first17)


def organisation(
    app: Flask, kind: str, name: str | None = None, uscc_code: str | None = None
) -> int:
    """An organisation registered as an operator would (a fresh valid 统一社会信用代码 unless
    given); its id."""
    from app.sponsors.services import create_organisation

    first17 = USCC_PREFIX.get(kind, "11") + "360700" + f"{secrets.randbelow(10**9):09d}"
    code = uscc_code or uscc(first17)
    with app.app_context():
        return create_organisation(OPERATOR, uscc=code, name=name or f"{kind} {code}", kind=kind).id


def org_admin(
    app: Flask, username: str, role: str = "charity_admin", organisation_id: int | None = None
) -> int:
    """An organisation admin (of a new organisation of the role's kind unless given); its id."""
    from app.auth.services import ADMIN_ROLE_KIND

    assert role in ORGANISATION_ROLES, role
    if organisation_id is None:
        organisation_id = organisation(app, ADMIN_ROLE_KIND[role])
    return staff_account(app, username, role, organisation_id)


def programme(
    app: Flask,
    admin_username: str,
    *,
    name: str = "资助项目",
    rule: dict | None = None,
    eligibility: dict | None = None,
    quota: int | None = None,
    budget_fen: int = 0,
    plan_year: int = 2026,
    product_id: int | None = None,
) -> int:
    """A programme of the admin's organisation (`create_programme`), topped up with `budget_fen`;
    its id."""
    from app.sponsors.services import create_programme, top_up

    actor = staff_principal(app, admin_username)
    with app.app_context():
        made = create_programme(
            actor,
            name=name,
            plan_year=plan_year,
            starts_on=date(plan_year, 1, 1),
            ends_on=date(plan_year, 12, 31),
            rule=rule or {"kind": "full"},
            eligibility=eligibility or {},
            quota=quota,
            product_id=product_id,
        )
        if budget_fen:
            top_up(actor, made.id, budget_fen)
        return made.id


# --- claims ------------------------------------------------------------------------------------


def jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 90, 90)).save(buf, "JPEG")
    return buf.getvalue()


def claim(
    app: Flask,
    member_id: int,
    fields: dict,
    *,
    documents=(),
    submit: bool = False,
) -> dict:
    """A claim with documents: a draft from `fields` (the body `POST /claims` takes, policy_id
    included, loaded by the API's own schema), `documents` uploaded (doc types, a small JPEG
    each), and with `submit` submitted (the engine runs: pending_review, approved, ...).
    Returns {"id", "claim_no", "status"}."""
    from app.claims import services
    from app.claims.schemas import ClaimCreateSchema

    body = ClaimCreateSchema().load(fields)
    policy_id = body.pop("policy_id")
    with app.app_context():
        made = services.create_claim(member_id, policy_id=policy_id, fields=body)
        claim_id, claim_no = made.id, made.claim_no
        for doc_type in documents:
            services.upload_document(member_id, claim_id, doc_type, jpeg(), "image/jpeg")
        status = services.submit(member_id, claim_id).status if submit else made.status
        get_session().rollback()
    return {"id": claim_id, "claim_no": claim_no, "status": str(status)}


def assign_claim(app: Flask, reviewer: str, claim_id: int) -> None:
    """A submitted claim taken by `reviewer` (a username), as `POST .../assign` with no body."""
    from app.claims import services

    actor = staff_principal(app, reviewer)
    with app.app_context():
        services.assign(actor, claim_id, None)


def reject_claim(app: Flask, reviewer: str, claim_id: int) -> None:
    """A claim assigned to `reviewer` rejected by them (a reviewer's rejection: 复核 may follow)."""
    from app.claims import services

    actor = staff_principal(app, reviewer)
    with app.app_context():
        services.reject(actor, claim_id, "not_covered", "不在保障范围")


def request_claim_info(app: Flask, reviewer: str, claim_id: int, message: str) -> None:
    from app.claims import services

    actor = staff_principal(app, reviewer)
    with app.app_context():
        services.request_info(actor, claim_id, message, [])
