"""Clue registration, duplicate detection, confidentiality (R2.1.7), search, follows and the reporter.

Confidentiality: an in-progress clue is visible only to the organisations handling it (the district
brigade that owns it and the unit it was dispatched to, each with its subtree), the person who
registered it, and the city corps; once closed, every enforcement organisation (city, district,
street) may see it. `visible_clause` is the one rule; the list, the page, search, export and
statistics all go through it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Select, and_, or_, select, true

from app.audit import services as audit
from app.clues.models import CLOSED_STATUSES, ENDED_STATUSES, SOURCES, Clue, ClueFollow
from app.engine import deploy, forms
from app.enterprises.models import Enterprise
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security.crypto import blind_index, decrypt_field, encrypt_field
from app.security.masking import mask_id_number, mask_name, mask_phone
from app.security.scope import CITY_KINDS, scope_for
from app.tabular.export import Column

PROCESS_ID = "clue_verification"
REGISTER_FORM = "clue_register.schema.json"
DUPLICATE_DAYS = 30
DUPLICATE_RATIO = 0.6
ENFORCEMENT_KINDS = CITY_KINDS | {"district", "street"}
PHONE_INDEX = "clue.reporter_phone"
REPORTER_FIELDS = {"name": "reporter_name_enc", "phone": "reporter_phone_enc", "id_number": "reporter_id_number_enc"}


class DuplicateSuspected(ValidationFailed):
    """Similar clues exist: the registrar must look at them and confirm before registering."""

    def __init__(self, duplicates: list[Duplicate]):
        super().__init__(
            f"发现 {len(duplicates)} 条疑似重复线索，请核对后勾选“确认不是重复线索”再提交",
            errors={"confirm_duplicate": "请确认"},
        )
        self.duplicates = duplicates


# ---------------------------------------------------------------------------------------------
# visibility


def visible_clause(user):
    """SQL: the clues this user may see (R2.1.7)."""
    scope = scope_for(user)
    if scope.all:
        return true()
    clauses = [
        scope.org_clause(Clue.district_org_id),
        and_(Clue.handling_org_id.is_not(None), scope.org_clause(Clue.handling_org_id)),
        Clue.registered_by_id == user.id,
    ]
    if user.org is not None and user.org.kind in ENFORCEMENT_KINDS:
        clauses.append(Clue.status.in_(CLOSED_STATUSES))
    return or_(*clauses)


def can_view(user, clue: Clue) -> bool:
    if clue.registered_by_id == user.id:
        return True
    scope = scope_for(user)
    if scope.all or scope.contains(clue.district_org) or scope.contains(clue.handling_org):
        return True
    return clue.status in CLOSED_STATUSES and user.org is not None and user.org.kind in ENFORCEMENT_KINDS


def get_visible(clue_id: int, user) -> Clue:
    """A clue the user may see; missing and confidential look the same (404)."""
    clue = db.session.get(Clue, clue_id)
    if clue is None or not can_view(user, clue):
        raise NotFound("线索不存在或您无权查看")
    return clue


def by_instance(instance_id: int) -> Clue | None:
    return db.session.scalar(select(Clue).where(Clue.instance_id == instance_id))


# ---------------------------------------------------------------------------------------------
# search


@dataclass
class Filters:
    q: str | None = None
    source: str | None = None
    status: str | None = None
    district: str | None = None
    priority: str | None = None
    phone: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    following: bool = False


def search(user, f: Filters) -> Select:
    stmt = select(Clue).where(visible_clause(user))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(
            or_(
                Clue.number.like(like),
                Clue.enterprise_name.like(like),
                Clue.content.like(like),
                Clue.credit_code == f.q.upper(),
            )
        )
    if f.source:
        stmt = stmt.where(Clue.source == f.source)
    if f.status == "open":
        stmt = stmt.where(Clue.status.not_in(ENDED_STATUSES))
    elif f.status:
        stmt = stmt.where(Clue.status == f.status)
    if f.district:
        stmt = stmt.where(Clue.district_org.has(Organisation.code == f.district))
    if f.priority:
        stmt = stmt.where(Clue.priority == f.priority)
    if f.phone:
        # Exact match on the encrypted phone through its blind index.
        stmt = stmt.where(Clue.reporter_phone_bidx == blind_index(f.phone.strip(), purpose=PHONE_INDEX))
    if f.date_from:
        stmt = stmt.where(Clue.registered_at >= _day_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(Clue.registered_at < _day_start(f.date_to + timedelta(days=1)))
    if f.following:
        stmt = stmt.where(Clue.id.in_(select(ClueFollow.clue_id).where(ClueFollow.user_id == user.id)))
    return stmt.order_by(Clue.registered_at.desc(), Clue.id.desc())


def _day_start(day: date) -> datetime:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    return datetime(day.year, day.month, day.day, tzinfo=tz)


# ---------------------------------------------------------------------------------------------
# registration


def register_schema() -> tuple[dict, dict]:
    """The registration form (deployed with the process as its start form), with the districts filled in."""
    version = deploy.current_version(PROCESS_ID)
    schema = forms.parse((version.forms or {}).get(REGISTER_FORM))
    ui = forms.parse((version.forms or {}).get(REGISTER_FORM.replace(".schema.json", ".uischema.json")))
    districts = db.session.scalars(
        select(Organisation).where(Organisation.kind == "district").order_by(Organisation.sort, Organisation.code)
    )
    schema["properties"]["district"]["oneOf"] = [{"const": o.code, "title": o.short_name or o.name} for o in districts]
    return schema, ui


@dataclass
class Duplicate:
    clue: Clue
    ratio: float
    visible: bool


def find_duplicates(
    user, *, credit_code: str | None, content: str, now: datetime | None = None, exclude_id: int | None = None
) -> list[Duplicate]:
    """Clues about the same enterprise in the last 30 days whose content is similar (difflib ratio >= 0.6)."""
    if not credit_code or not (content or "").strip():
        return []
    now = now or utcnow()
    stmt = select(Clue).where(
        Clue.credit_code == credit_code.strip().upper(), Clue.registered_at >= now - timedelta(days=DUPLICATE_DAYS)
    )
    if exclude_id:
        stmt = stmt.where(Clue.id != exclude_id)
    out = []
    text = _normalise(content)
    for clue in db.session.scalars(stmt.order_by(Clue.registered_at.desc()).limit(50)):
        ratio = difflib.SequenceMatcher(None, text, _normalise(clue.content)).ratio()
        if ratio >= DUPLICATE_RATIO:
            out.append(Duplicate(clue=clue, ratio=round(ratio, 2), visible=can_view(user, clue)))
    return out


def _normalise(text: str) -> str:
    return "".join(ch for ch in (text or "") if not ch.isspace())


def _district_of(enterprise: Enterprise | None, code: str | None) -> Organisation:
    org = None
    if code:
        org = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None and enterprise is not None and enterprise.district_code:
        org = db.session.scalar(select(Organisation).where(Organisation.code == enterprise.district_code))
    if org is None or org.kind != "district":
        raise ValidationFailed("请选择线索所属区", errors={"district": "请选择所属区"})
    return org


def register(
    actor,
    data: dict,
    *,
    files: list[tuple[str, bytes]] = (),
    file_meta: dict[str, dict] | None = None,
    confirm_duplicate: bool = False,
) -> Clue:
    """Create the clue (reporter particulars encrypted) and start its verification process.

    ``file_meta``: capture metadata of photos by file name (app.inbox.uploads.form_meta)."""
    from app.clues import process

    if not actor.can("clue.register"):
        raise PermissionDenied("您没有登记线索的权限")
    enterprise = None
    if data.get("enterprise"):
        enterprise = db.session.scalar(
            select(Enterprise).where(Enterprise.credit_code == str(data["enterprise"]).strip().upper())
        )
        if enterprise is None:
            raise ValidationFailed("企业不在企业库中", errors={"enterprise": "请从企业库中选择企业"})
    district = _district_of(enterprise, data.get("district"))
    duplicates = find_duplicates(
        actor, credit_code=enterprise.credit_code if enterprise else None, content=data["content"]
    )
    if duplicates and not confirm_duplicate:
        raise DuplicateSuspected(duplicates)
    clue = Clue(
        source=data["source"],
        content=data["content"].strip(),
        enterprise_id=enterprise.id if enterprise else None,
        enterprise_name=enterprise.name if enterprise else None,
        credit_code=enterprise.credit_code if enterprise else None,
        district_org_id=district.id,
        status="accepting",
        registered_by_id=actor.id,
        duplicate_of_id=duplicates[0].clue.id if duplicates else None,
    )
    db.session.add(clue)
    db.session.flush()
    set_reporter(
        clue, name=data.get("reporter_name"), phone=data.get("reporter_phone"), id_number=data.get("reporter_id_number")
    )
    instance = process.start_for(clue, actor, district)
    for filename, content in files:
        from app.inbox import collab

        collab.store_attachment(
            instance, actor, filename=filename, data=content, field="attachments", meta=(file_meta or {}).get(filename)
        )
    audit.record(
        "clue.register",
        actor=actor,
        object_type="clue",
        object_id=clue.id,
        detail={"number": clue.number, "source": clue.source, "duplicates": [d.clue.id for d in duplicates]},
    )
    return clue


def set_reporter(clue: Clue, *, name: str | None, phone: str | None, id_number: str | None) -> None:
    values = {"name": name, "phone": phone, "id_number": id_number}
    for key, column in REPORTER_FIELDS.items():
        value = (values[key] or "").strip()
        token = encrypt_field(value, table="clues", column=column, row_id=clue.id) if value else None
        setattr(clue, column, token)
    phone = (phone or "").strip()
    clue.reporter_phone_bidx = blind_index(phone, purpose=PHONE_INDEX) if phone else None


def reporter(clue: Clue, user, *, reveal: bool = False) -> dict[str, str]:
    """The reporter's particulars: masked, or in clear for `sensitive.unmask` when asked (audited)."""
    clear = reveal and user.can("sensitive.unmask")
    out = {}
    masks = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number}
    for key, column in REPORTER_FIELDS.items():
        token = getattr(clue, column)
        if not token:
            out[key] = ""
            continue
        value = decrypt_field(token, table="clues", column=column, row_id=clue.id)
        out[key] = value if clear else masks[key](value)
    if clear:
        audit.record("clue.reporter.reveal", actor=user, object_type="clue", object_id=clue.id)
    return out


# ---------------------------------------------------------------------------------------------
# follows


def is_following(clue: Clue, user) -> bool:
    return bool(
        db.session.scalar(select(ClueFollow.id).where(ClueFollow.clue_id == clue.id, ClueFollow.user_id == user.id))
    )


def toggle_follow(clue: Clue, user) -> bool:
    """关注 / 取消关注; returns whether the user now follows the clue."""
    existing = db.session.scalar(select(ClueFollow).where(ClueFollow.clue_id == clue.id, ClueFollow.user_id == user.id))
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        return False
    db.session.add(ClueFollow(clue_id=clue.id, user_id=user.id))
    db.session.flush()
    return True


def followers(clue: Clue) -> list:
    from app.auth.models import User

    return list(
        db.session.scalars(
            select(User).join(ClueFollow, ClueFollow.user_id == User.id).where(ClueFollow.clue_id == clue.id)
        )
    )


# ---------------------------------------------------------------------------------------------
# export


EXPORT_COLUMNS = [
    Column("线索编号", "number", width=18),
    Column("来源", lambda c: SOURCES.get(c.source, c.source), width=10),
    Column("涉及企业", "enterprise_name", width=30),
    Column("统一社会信用代码", "credit_code", width=22),
    Column("所属区", lambda c: c.district_org.short_name or c.district_org.name, width=10),
    Column("承办单位", lambda c: c.handling_org.name if c.handling_org else "", width=20),
    Column("状态", "status_label", width=10),
    Column("优先级", "priority_label", width=8),
    Column("风险等级", "risk_label", width=8),
    Column("核查结论", "outcome_label", width=12),
    Column("登记时间", "registered_at", kind="datetime", width=18),
    Column("办结时间", "closed_at", kind="datetime", width=18),
    Column("线索内容", "content", width=50),
]


def export_rows(user, f: Filters, *, limit: int = 5000) -> list[Clue]:
    """The clues of an export (inside the user's scope and R2.1.7 visibility), audited."""
    rows = list(db.session.scalars(search(user, f).limit(limit)))
    audit_export(user, rows=len(rows))
    return rows


def audit_export(user, *, rows: int, background: bool = False) -> None:
    """Every clue export is audited when asked for (a background one with the rows it will hold)."""
    audit.record("clue.export", actor=user, detail={"rows": rows, **({"background": True} if background else {})})
