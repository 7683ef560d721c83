"""Import every model module so the metadata (and Alembic) sees all tables."""

from app.audit.models import AuditEntry, AuditHead  # noqa: F401
from app.auth.models import Role, User  # noqa: F401
from app.engine.models import CalendarDay, Incident, InstanceEvent, ProcessInstance, ProcessModel  # noqa: F401
from app.enterprises.models import Enterprise  # noqa: F401
from app.inbox.models import Attachment, CarbonCopy, Comment, CommonPhrase, HumanTask, Notification  # noqa: F401
from app.orgs.models import Organisation  # noqa: F401
from app.reports.models import Document, DocumentCounter, Job  # noqa: F401
from app.security.models import DataKey, PasswordHistory, RecoveryCode, UserSession, UserTotp  # noqa: F401
