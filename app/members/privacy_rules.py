"""A member's rights over their personal information (PIPL arts. 15 and 47), as pure rules over
plain data: what a withdrawal of consent stops and what it leaves running, what keeps an
identity bound, what keeps an account open, and how long insurance records are kept after an
account is closed. The services (app/members/privacy.py, app/members/closure.py) read the rows
and act; the wording here is what the member reads on the phone.

Withdrawal (PIPL art. 15): processing done before it stays lawful, nothing new is processed until
the member consents again. What already exists stays: a policy in force keeps covering (a claim
under it needs the consent again), a claim already filed runs to its end, money owed to the
member is paid. Closure (art. 47): what no law requires us to keep is erased; insurance records
(policies, orders, claims, payments) are kept for the period the Insurance Law sets, and only
stored and protected in that time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.common.clock import SHANGHAI

# 保险法 第八十七条: 保险公司应当妥善保管业务经营活动中的账簿、原始凭证和有关资料；保管期限自保险
# 合同终止之日起计算，保险期间在一年以下的不得少于五年。惠民保 is a one-year cover.
RETENTION_YEARS = 5

# --- withdrawal ---------------------------------------------------------------------------------

# action -> (still allowed after a withdrawal, what the member reads). Every action a service
# gates is listed; tests/members/test_privacy_rules.py checks each row.
AFTER_WITHDRAWAL: dict[str, tuple[bool, str]] = {
    "verify_identity": (False, "不再向医保部门核验您和家属的医保身份（含添加家属、刷新核验）"),
    "quote_or_order": (False, "不能新建投保订单或获取报价，也不会为您自动续保"),
    "start_payment": (False, "不能为尚未支付的订单发起新的支付"),
    "value_estimate": (False, "不能查询“去年能赔多少”（不再调取医保结算记录）"),
    "new_claim": (False, "不能新建或提交理赔申请、特药申请；如需理赔，请先重新同意"),
    "renewal": (False, "续保授权暂停执行，到期不会自动续保或扣费"),
    "view_records": (True, "可以继续查看您的保单、订单、理赔记录和电子保单"),
    "policy_cover": (True, "已生效的保单继续有效，保障期间和保障责任不变"),
    "claim_in_progress": (True, "已提交的理赔继续办理：补充材料、申请人工审核或复核、赔款支付"),
    "refund": (True, "退保及应退还给您的保费照常办理，已发起的支付照常完成"),
    "withdraw_other": (True, "可以随时撤回其他授权、解除绑定或申请注销账号"),
}

WITHDRAWAL_LAWFUL_BEFORE = "撤回同意不影响撤回前基于您的同意已进行的个人信息处理活动的效力。"
WITHDRAWAL_RETAINED = (
    "依照法律规定需要保存的投保、保单、理赔和支付记录继续保存，期间仅作存储和必要的安全保护，"
    "不作其他处理；如需删除其余个人信息，可申请注销账号。"
)
WITHDRAWAL_RESUME = "重新阅读并同意《个人信息处理规则》后，即可继续办理上述业务。"


def allowed_after_withdrawal(action: str) -> bool:
    """Whether `action` may still run for a member who withdrew consent (KeyError: not listed,
    a programming error)."""
    return AFTER_WITHDRAWAL[action][0]


def withdrawal_notice() -> dict[str, object]:
    """What withdrawal means, in Chinese, for the answer to a withdrawal and the consent page."""
    return {
        "stops": [text for allowed, text in AFTER_WITHDRAWAL.values() if not allowed],
        "continues": [text for allowed, text in AFTER_WITHDRAWAL.values() if allowed],
        "lawful_before": WITHDRAWAL_LAWFUL_BEFORE,
        "retained": WITHDRAWAL_RETAINED,
        "how_to_resume": WITHDRAWAL_RESUME,
    }


def consent_state(latest_purpose: str | None) -> str:
    """The member's personal-information consent from their latest row of the two purposes
    (append-only): granted, withdrawn, or not_given (never verified an identity)."""
    if latest_purpose is None:
        return "not_given"
    return "withdrawn" if latest_purpose.endswith("_withdrawn") else "granted"


# --- consent texts -------------------------------------------------------------------------------

# A consent is to the text the member was shown, not to whatever string the mini-program sends:
# one naming another version than the one in force (an old text the mini-program cached, or
# garbage) is refused and not recorded. The versions in force are settings (app/config.py).
PERSONAL_INFORMATION, GUARDIAN = "personal_information", "guardian"
# text -> what the member reads it as. The renewal and value-estimate consents are checked by
# their own capabilities (renewal_consent_outdated, estimate_consent_outdated).
CONSENT_TEXT_TITLES = {PERSONAL_INFORMATION: "《个人信息处理规则》", GUARDIAN: "监护人同意书"}


@dataclass(frozen=True)
class OutdatedConsent:
    """Why a consent is refused: the Chinese detail, and the problem body's `errors`."""

    detail: str
    errors: dict[str, object]


def outdated_consent(
    text: str, sent: str, current: str, location: tuple[str, ...]
) -> OutdatedConsent | None:
    """None when `sent` is exactly the version of `text` in force (`current`); else the refusal,
    whose `errors` name the text and the version in force (for the mini-program to show that text
    again) and carry the field message at `location`, the consent's place in the JSON body
    (("consent",), or () for a body that is the consent). The version sent is not echoed: it
    may be anything."""
    if sent == current:
        return None
    detail = (
        f"{CONSENT_TEXT_TITLES[text]}已更新（当前版本 {current}），请重新阅读最新版本并同意后再提交"
    )
    field: dict[str, object] = {"text_version": [detail]}
    for key in reversed(location):
        field = {key: field}
    return OutdatedConsent(detail, {"text": text, "current_text_version": current, "json": field})


# --- what blocks an unbind or a closure -----------------------------------------------------------


@dataclass(frozen=True)
class Blocker:
    code: str  # stable, for the mini-program
    count: int
    message: str  # Chinese, says what to do

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "count": self.count, "message": self.message}


@dataclass(frozen=True)
class BindingDependents:
    """What rests on the member's bound identity (counts)."""

    orders: int = 0  # orders the member placed (they pay as this person) that are not closed
    policies: int = 0  # policies, not void, insuring this person
    claims: int = 0  # claims filed by the member or for this person
    sponsorships: int = 0  # campaign redemptions, roster entries, batch enrollments


_UNBIND_MESSAGES = {
    "orders": "您已用该身份下单投保，不能解除绑定",
    "policies": "该身份已有保单，不能解除绑定",
    "claims": "该身份已有理赔申请，不能解除绑定",
    "sponsorships": "该身份已有单位或公益项目的资助投保记录，不能解除绑定",
}


def unbind_blockers(d: BindingDependents) -> list[Blocker]:
    """Why the identity cannot be unbound (empty: it can). A binding with anything resting on it
    is not a mistake to undo in the app: the service desk handles it."""
    return [
        Blocker(f"has_{name}", count, _UNBIND_MESSAGES[name])
        for name, count in (
            ("orders", d.orders),
            ("policies", d.policies),
            ("claims", d.claims),
            ("sponsorships", d.sponsorships),
        )
        if count > 0
    ]


# Claims that are finished: paid, closed with nothing to pay, or rejected (a rejected claim's
# review or 复核 is the member's to ask for before closing; closing gives it up, and the closure
# preview warns of each 复核 still open: closure_warnings).
CLAIM_FINAL = frozenset({"paid", "closed", "rejected"})
ORDER_AWAITING = frozenset({"pending_payment", "paying"})


@dataclass(frozen=True)
class AccountState:
    """What the member's account holds, as plain values (one row per record)."""

    policies: tuple[tuple[str, date], ...] = ()  # (status, coverage_end) of their policies
    claim_statuses: tuple[str, ...] = ()
    order_statuses: tuple[str, ...] = ()
    pending_payments: int = 0
    pending_refunds: int = 0
    pending_payouts: int = 0
    special_drug_reviews: int = 0  # special-drug applications submitted, not yet decided


def policy_in_force(status: str, coverage_end: date, today: date) -> bool:
    """Active and not yet over (a policy for next year, not yet started, counts too)."""
    return status == "active" and coverage_end >= today


@dataclass(frozen=True)
class OpenRecheck:
    """A claim of the member's that a reviewer rejected and that they may still take to 复核."""

    claim_id: int
    claim_no: str
    deadline: datetime  # the last moment to ask (aware)


@dataclass(frozen=True)
class ClosureWarning:
    """Something closing gives up without blocking it: the member decides."""

    code: str  # stable, for the mini-program
    count: int
    message: str  # Chinese
    claims: tuple[OpenRecheck, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "count": self.count,
            "message": self.message,
            "claims": [
                {"id": c.claim_id, "claim_no": c.claim_no, "recheck_deadline": c.deadline}
                for c in self.claims
            ],
        }


def closure_warnings(open_rechecks: Iterable[OpenRecheck]) -> list[ClosureWarning]:
    """What closing the account gives up though it does not block it (empty: nothing). A
    reviewer's rejection may be taken to 复核 within its period (CLAIM_RECHECK_DAYS); a closed
    account can ask for nothing, so closing gives that right up: the member is told which claims,
    and until when (the earliest deadline, Asia/Shanghai), so they can ask first."""
    claims = tuple(sorted(open_rechecks, key=lambda c: (c.deadline, c.claim_id)))
    if not claims:
        return []
    first = claims[0].deadline
    first = (first if first.tzinfo else first.replace(tzinfo=UTC)).astimezone(SHANGHAI)
    message = (
        f"您有{len(claims)}笔被拒赔的理赔仍可申请复核（最早于{first:%Y年%m月%d日 %H:%M}截止）。"
        "注销账号即视为放弃申请复核的权利；如需复核，请在注销前提出申请"
    )
    return [ClosureWarning("claim_recheck_open", len(claims), message, claims)]


def closure_blockers(state: AccountState, today: date) -> list[Blocker]:
    """What must end before the account can be closed (empty: it can)."""
    found = [
        (
            "policy_in_force",
            sum(policy_in_force(s, end, today) for s, end in state.policies),
            "尚有保障期内的保单，保单到期或退保后才能注销",
        ),
        (
            "claim_not_final",
            sum(s not in CLAIM_FINAL for s in state.claim_statuses),
            "尚有未办结的理赔申请（含草稿），请等待办结或删除草稿后再注销",
        ),
        (
            "order_awaiting_payment",
            sum(s in ORDER_AWAITING for s in state.order_statuses),
            "尚有待支付或支付确认中的订单，请完成支付或等待订单自动关闭后再注销",
        ),
        (
            "payment_in_progress",
            state.pending_payments + state.pending_payouts,
            "尚有处理中的支付或理赔款转账，请在完成后再注销",
        ),
        (
            "refund_in_progress",
            state.pending_refunds,
            "尚有处理中的退款，请在退款到账后再注销",
        ),
        (
            "special_drug_in_review",
            state.special_drug_reviews,
            "尚有审核中的特药申请，请等待审核完成后再注销",
        ),
    ]
    return [Blocker(code, count, message) for code, count, message in found if count > 0]


# What a closure does, in Chinese, for the closure page and its answer.
CLOSURE_ERASES = (
    "注销后无法再登录此账号；微信重新登录将创建一个新账号，看不到原账号的记录",
    "退出所有已登录的设备，停止向您发送服务通知",
    "删除家属列表；无须依法保存的本人及家属身份信息和医保核验记录将被删除",
    "续保授权终止，不再自动续保或扣费",
)
CLOSURE_KEEPS = (
    "投保订单、保单、理赔、支付和退款记录及其涉及的身份信息，依照《保险法》自保险合同终止之日起"
    f"保存{RETENTION_YEARS}年，期间仅作存储和必要的安全保护，不作其他处理，期满后删除",
    "您的同意和撤回记录，以证明此前的处理依法进行",
)


def retain_until(coverage_ends: Iterable[date], closed_on: date, has_records: bool) -> date | None:
    """Until when a closed account's insurance records are kept: RETENTION_YEARS after the last
    cover ended (the contract's end, as the law counts), or after the closure for records that
    never had a cover (an order refunded, a claim without a policy of ours); None when nothing
    is under retention."""
    if not has_records:
        return None
    return plus_retention(max(coverage_ends, default=closed_on))


def plus_retention(end: date) -> date:
    """The last day records are kept after `end` (a cover's or a programme's): RETENTION_YEARS
    later, 29 February becoming 28 February."""
    try:
        return end.replace(year=end.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return end.replace(year=end.year + RETENTION_YEARS, day=28)


def retention_cutoff(today: date) -> date:
    """The earliest end still under retention on `today`: records of a cover that ended on `end`
    are kept exactly while `end >= retention_cutoff(today)` (plus_retention(end) >= today), so a
    query can compare the end column with one date."""
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    cutoff = date(today.year - RETENTION_YEARS, today.month, day)
    while plus_retention(cutoff - timedelta(days=1)) >= today:
        cutoff -= timedelta(days=1)
    while plus_retention(cutoff) < today:
        cutoff += timedelta(days=1)
    return cutoff


def programme_retained_until(ends_on: date, cover_ends: Iterable[date]) -> date:
    """Until when a sponsor programme's roster (the people it named, with their categories) and
    its batch enrollment's rows are kept: as long as the insurance records of the cover it
    bought, RETENTION_YEARS after the later of the programme's end and the end of its plan
    year's cover (`cover_ends`: its product's, or every product's of that year)."""
    return plus_retention(max([ends_on, *cover_ends]))
