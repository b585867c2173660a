"""Every model, imported in one place so Alembic and the schema check see the whole metadata."""
from app.audit.models import AuditEvent  # noqa: F401
from app.auth.models import RefreshToken, StaffAccount  # noqa: F401
from app.database import Base  # noqa: F401
from app.integrations.bureau.sandbox_models import SandboxResident  # noqa: F401
from app.members.models import Consent, Member, Person, Relative  # noqa: F401
