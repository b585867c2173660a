"""Every model, imported in one place so Alembic and the schema check see the whole metadata."""

from app.audit.models import AuditEvent  # noqa: F401
from app.auth.models import RefreshToken, StaffAccount  # noqa: F401
from app.campaigns.models import Campaign, CampaignRedemption  # noqa: F401
from app.catalogues.models import (  # noqa: F401
    CatalogueImportRow,
    CatalogueVersion,
    CommercialEntry,
    SpecialDrugEntry,
)
from app.claims.line_models import ClaimFeeLine  # noqa: F401
from app.claims.models import (  # noqa: F401
    AccumulatorEntry,
    AccumulatorYear,
    Claim,
    ClaimDocument,
    ClaimInvoice,
    ClaimLedgerEntry,
    ClaimTransition,
    Payout,
)
from app.common.idempotency import IdempotencyRecord  # noqa: F401
from app.database import Base  # noqa: F401
from app.direct_settlement.models import (  # noqa: F401
    DirectNonce,
    DirectSettlement,
    DirectTrial,
    HospitalLedgerEntry,
    HospitalStatement,
    Institution,
    Reconciliation,
)
from app.disclosure.models import DisclosureCounter, DisclosureEnrollment  # noqa: F401
from app.enrollment.models import LedgerEntry, Order, OrderItem, Payment, Refund  # noqa: F401
from app.identity.models import InsuranceAnswer, Person  # noqa: F401
from app.integrations.bureau.sandbox_models import (  # noqa: F401
    SandboxAccountAuthorisation,
    SandboxAccountTxn,
    SandboxFeeLine,
    SandboxResident,
    SandboxSettlement,
)
from app.integrations.notifier.sandbox_models import SandboxNotification  # noqa: F401
from app.integrations.payout.sandbox_models import SandboxPayout  # noqa: F401
from app.integrations.wechatpay.sandbox_models import SandboxWeChatRefund, SandboxWeChatTrade  # noqa: F401
from app.jobs.models import Job, JobRow  # noqa: F401
from app.members.models import Consent, Member, Relative  # noqa: F401
from app.outbox.models import OutboxEvent  # noqa: F401
from app.policies.models import Policy  # noqa: F401
from app.products.models import Product, ProductTerms  # noqa: F401
from app.renewals.models import RenewalConsent, RenewalOutcome, RenewalRun  # noqa: F401
from app.special_drugs.models import (  # noqa: F401
    SpecialDrugApplication,
    SpecialDrugDocument,
    SpecialDrugPurchase,
    SpecialDrugUsage,
)
from app.sponsors.models import Organisation, Programme, ProgrammeLedgerEntry  # noqa: F401
from app.sponsors.roster_models import RosterEntry, RosterReportRow, RosterUpload  # noqa: F401
