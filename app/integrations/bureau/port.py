"""The bureau port, shaped like the national medical-insurance platform's interfaces.

1101 person lookup by ID number + name returns `baseinfo`, `insuinfo[]` and `idetinfo[]`; this
module turns that into plain dataclasses. A wrong name and an unknown ID number are the same
answer (`None`), so the port cannot be used as an oracle.

Settlement records (2207/5203 `setlinfo` shape) are `SettlementRecord`s, defined with their
medical-type map and arithmetic identities in app/integrations/bureau/settlements.py; a
settlement's itemised lines (5204 费用明细) are `FeeDetailRecord`s, defined with their netting and
adding-up check in app/integrations/bureau/fee_details.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from app.integrations.bureau.settlements import SettlementRecord

if TYPE_CHECKING:  # fee_details.py imports BureauUnavailable from here
    from app.integrations.bureau.fee_details import FeeDetailRecord

INSUTYPE_EMPLOYEE = "310"  # 职工基本医疗保险
INSUTYPE_RESIDENT = "390"  # 城乡居民基本医疗保险
INSUTYPE_NAMES = {INSUTYPE_EMPLOYEE: "employee", INSUTYPE_RESIDENT: "resident"}

# psn_insu_stas: 1 = 正常参保 (active), 2 = 暂停参保 (suspended), 4 = 终止参保 (ended)
STATUS_ACTIVE = "1"
STATUS_SUSPENDED = "2"
STATUS_ENDED = "4"

# idetinfo psn_idet_type codes used by the sandbox and mapped to Huimin's category names.
IDENTITY_CATEGORIES = {
    "2301": "dibao",
    "2302": "tekun",
    "2303": "low_income",
    "2304": "poverty_watch",
    "2401": "entitled_group",
    "2501": "disabled",
}
# Each category's Chinese name, the one every page, poster, report and download shows (a
# category code such as `dibao` is for programs only). Other spellings a roster may carry are in
# app/sponsors/rosters.py (CATEGORY_SPELLINGS).
CATEGORY_NAMES = {
    "dibao": "低保对象",
    "tekun": "特困人员",
    "low_income": "低收入人口",
    "poverty_watch": "防返贫监测对象",
    "entitled_group": "优抚对象",
    "disabled": "残疾人",
}


@dataclass(frozen=True)
class InsuranceRecord:
    insutype: str  # "310" or "390"
    status: str  # psn_insu_stas
    region_code: str  # insuplc_admdvs
    paused_on: date | None  # paus_insu_date
    balance_fen: int | None  # personal-account balance (employee only), integer fen
    # psn_insu_date: when the current insured period began (after a reinstatement, the day the
    # person was insured again); optional in the bureau's answer.
    begin_date: date | None = None

    @property
    def insurance_type(self) -> str:
        return INSUTYPE_NAMES.get(self.insutype, "other")

    @property
    def active(self) -> bool:
        return self.status == STATUS_ACTIVE


@dataclass(frozen=True)
class BureauPerson:
    psn_no: str
    certno: str
    name: str
    gender: str  # "1" male, "2" female
    birth_date: date
    insurance: list[InsuranceRecord] = field(default_factory=list)
    identity_types: list[str] = field(default_factory=list)  # psn_idet_type codes, current only

    @property
    def identity_flags(self) -> list[str]:
        return sorted(
            {IDENTITY_CATEGORIES[c] for c in self.identity_types if c in IDENTITY_CATEGORIES}
        )

    def primary_insurance(self, region_prefix: str | None = None) -> InsuranceRecord | None:
        """The record that decides eligibility: an active one in the region first, then any
        active one, then the most relevant suspended one."""

        def rank(rec: InsuranceRecord) -> tuple:
            in_region = bool(region_prefix) and rec.region_code.startswith(region_prefix or "")
            return (rec.active, in_region, rec.insutype == INSUTYPE_EMPLOYEE)

        candidates = [r for r in self.insurance if r.status != STATUS_ENDED] or list(self.insurance)
        return max(candidates, key=rank, default=None)


class BureauUnavailable(Exception):
    """Timeout, transport error, bad signature or an infcode that is not a business answer."""


class BureauPort(Protocol):
    def lookup_person(self, certno: str, name: str) -> BureauPerson | None:
        """1101. None when no insured person has this ID number with this name."""
        ...

    def settlement_records(self, psn_no: str, begin: date, end: date) -> list[SettlementRecord]:
        """The person's settlements whose settlement date (setl_time, Asia/Shanghai) is within
        begin..end inclusive, oldest first, reversed ones included (marked `cancelled`).
        Raises BureauUnavailable when the bureau cannot answer."""
        ...

    def settlement_record(self, psn_no: str, setl_id: str) -> SettlementRecord | None:
        """One settlement (5203 结算信息查询); None when the bureau has no settlement with this
        id for this person. Raises BureauUnavailable when the bureau cannot answer."""
        ...

    def fee_details(
        self, psn_no: str, setl_id: str, *, settlement: SettlementRecord | None = None
    ) -> list[FeeDetailRecord] | None:
        """The settlement's itemised lines (5204 费用明细查询), reversal lines netted out, in the
        bureau's feedetl_sn order; None when the bureau has no settlement with this id for this
        person. The lines are checked to add up to the settlement's totals (fee_details.py);
        when they do not, raises `FeeDetailsInconsistent` (a BureauUnavailable that asking
        again will not cure). `settlement`: the record, when the caller already has it (saves
        asking for it again); it must be this person's settlement `setl_id`. Raises
        BureauUnavailable when the bureau cannot answer."""
        ...


class BatchLookup(Protocol):
    """Optional: 1101 for many people in one exchange (the sandbox has it; the national
    platform's 1101 is one person per call). Batch enrollment uses it when an adapter has it."""

    def lookup_people(self, requests: list[tuple[str, str]]) -> list[BureauPerson | None]:
        """One answer per (certno, name), in order, each as `lookup_person` would answer."""
        ...


# --- Personal-account debit (个人账户缴费投保划扣) -------------------------------------------
# No public standard exists for debiting a personal account to buy commercial cover, so it is
# modelled as authorise -> debit (idempotent request id) -> query -> refund (DOMAIN.md).

DEBIT_SUCCEEDED = "succeeded"
DEBIT_FAILED = "failed"  # a final business refusal (e.g. insufficient balance)
DEBIT_PENDING = "pending"  # accepted but not final; query later
DEBIT_NOT_FOUND = "not_found"  # the bureau never saw this request id (query only)


@dataclass(frozen=True)
class AccountAuthorisation:
    authorisation_id: str
    psn_no: str
    amount_fen: int
    expires_at_iso: str


@dataclass(frozen=True)
class AccountTransaction:
    request_id: str
    status: str  # one of DEBIT_* above
    amount_fen: int
    bureau_txn_id: str | None = None
    balance_after_fen: int | None = None
    failure_code: str | None = None  # e.g. "insufficient_balance", "account_frozen"
    failure_message: str | None = None


class AccountPort(Protocol):
    def authorise_debit(self, psn_no: str, amount_fen: int, order_no: str) -> AccountAuthorisation:
        """The payer authorises a debit of exactly this amount for this order."""
        ...

    def debit(
        self, request_id: str, authorisation_id: str, psn_no: str, amount_fen: int, order_no: str
    ) -> AccountTransaction:
        """Idempotent on request_id: repeating it never debits twice. Raises BureauUnavailable on
        timeout, leaving the outcome unknown (query it)."""
        ...

    def query(self, request_id: str) -> AccountTransaction: ...

    def balance(self, psn_no: str) -> int | None:
        """The personal-account balance in fen now; None when the person has no personal
        account (resident insurance, or unknown). Raises BureauUnavailable."""
        ...

    def refund(
        self, refund_request_id: str, original_request_id: str, amount_fen: int
    ) -> AccountTransaction:
        """Idempotent on refund_request_id; never refunds more than was debited."""
        ...
