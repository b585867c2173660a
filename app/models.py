"""Every model, imported in one place so Alembic and the schema check see the whole metadata."""
from app.audit.models import AuditEvent  # noqa: F401
from app.auth.models import RefreshToken, StaffAccount  # noqa: F401
from app.database import Base  # noqa: F401
from app.integrations.bureau.sandbox_models import SandboxAccountAuthorisation, SandboxAccountTxn, SandboxResident  # noqa: F401
from app.integrations.wechatpay.sandbox_models import SandboxWeChatRefund, SandboxWeChatTrade  # noqa: F401
from app.members.models import Consent, Member, Person, Relative  # noqa: F401
from app.products.models import Product, ProductTerms  # noqa: F401
from app.common.idempotency import IdempotencyRecord  # noqa: F401
from app.enrollment.models import LedgerEntry, Order, OrderItem, Payment, Refund  # noqa: F401
from app.policies.models import Policy  # noqa: F401
from app.sponsors.models import Organisation, Programme, ProgrammeLedgerEntry  # noqa: F401
