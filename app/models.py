"""Import every model module so the metadata (and Alembic) sees all tables."""

from app.accounts_apply.models import AccountApplication  # noqa: F401
from app.alerts.models import Alert  # noqa: F401
from app.appraisal.models import (  # noqa: F401
    AppraisalItem,
    AppraisalResult,
    AppraisalReview,
    AppraisalRound,
    AppraisalScheme,
)
from app.audit.models import AuditEntry, AuditHead  # noqa: F401
from app.auth.models import Role, User  # noqa: F401
from app.checklimit.models import InspectionLimit, OverLimitFiling  # noqa: F401
from app.clues.models import Clue, ClueFollow  # noqa: F401
from app.dispatch.models import Device, DeviceBinding, DispatchRecord, MapLayer, Recording  # noqa: F401
from app.efficiency.models import EffImprovement, EffIndicator, EffModel, EffRule, EffScore, EffViolation, Topic  # noqa: F401
from app.engine.models import CalendarDay, Incident, InstanceEvent, ProcessInstance, ProcessModel  # noqa: F401
from app.enterprises.models import (
    Enterprise,  # noqa: F401
    EnterpriseRecord,  # noqa: F401
)
from app.exchange.models import (  # noqa: F401
    EnterpriseFact,
    ExchangeCursor,
    ExchangeRecord,
    ExchangeReject,
    ExchangeRun,
    LookupCache,
    PushBatch,
    PushItem,
    Reconciliation,
    Submission,
)
from app.grading.models import EnterpriseScore, GradeModel, GradeSnapshot, JobMark, ScoreHistory  # noqa: F401
from app.inbox.models import (  # noqa: F401
    Attachment,
    CarbonCopy,
    Comment,
    CommonPhrase,
    DeadlineChange,
    HumanTask,
    Notification,
)
from app.knowledge.models import KnowledgeEntry  # noqa: F401
from app.labels.models import EnterpriseLabel, LabelDef  # noqa: F401
from app.orgs.models import Organisation  # noqa: F401
from app.plans.models import Inspection, MonthlyPlan, PlanItem  # noqa: F401
from app.processes.models import ProcessDraft  # noqa: F401
from app.reports.models import Document, DocumentCounter, Job  # noqa: F401
from app.security.models import DataKey, PasswordHistory, RecoveryCode, UserSession, UserTotp  # noqa: F401
from app.soe.models import Guidance, GuidanceMessage, GuidanceRead  # noqa: F401
from app.stats.models import SavedView, StatsDaily, StatsDirty, StatsMonthly  # noqa: F401
from app.training.models import (  # noqa: F401
    Competition,
    Paper,
    PaperAnswer,
    PracticeRecord,
    Question,
    TrainingSetting,
    WrongAnswer,
)
from app.triggers.models import TriggerHit, TriggerRule, TriggerScenario  # noqa: F401
