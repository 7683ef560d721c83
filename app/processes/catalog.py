"""The list of process models: versions, status, who deployed them and when, instance counts, drafts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.auth.models import User
from app.engine.models import ProcessInstance, ProcessModel, ProcessVersion
from app.extensions import db
from app.processes.models import ProcessDraft
from app.security.scope import scope_for


@dataclass
class VersionRow:
    version: ProcessVersion
    deployed_by: str | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ModelRow:
    process_id: str
    model: ProcessModel | None
    versions: list[VersionRow] = field(default_factory=list)
    drafts: int = 0
    draft_at: object = None

    @property
    def current(self) -> VersionRow | None:
        if self.model is None or self.model.current_version_id is None:
            return None
        return next((v for v in self.versions if v.version.id == self.model.current_version_id), None)

    @property
    def counts(self) -> dict[str, int]:
        total: dict[str, int] = defaultdict(int)
        for v in self.versions:
            for status, n in v.counts.items():
                total[status] += n
        return dict(total)


def instance_counts(user, model_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """``{version id: {status: count}}`` of the instances inside the user's scope."""
    stmt = select(ProcessInstance.version_id, ProcessInstance.status, func.count()).group_by(
        ProcessInstance.version_id, ProcessInstance.status
    )
    if model_ids is not None:
        stmt = stmt.join(ProcessInstance.version).where(ProcessVersion.model_id.in_(model_ids))
    stmt = scope_for(user).filter_org(stmt, ProcessInstance.org_id)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for version_id, status, n in db.session.execute(stmt):
        counts[version_id][status] = n
    return counts


def _people(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    return {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def rows(user, process_id: str | None = None) -> list[ModelRow]:
    """One row per process model (and per process that only has drafts so far)."""
    models_stmt = select(ProcessModel).order_by(ProcessModel.category, ProcessModel.process_id)
    versions_stmt = select(ProcessVersion).order_by(ProcessVersion.model_id, ProcessVersion.version.desc())
    drafts_stmt = select(ProcessDraft.process_id, func.count(), func.max(ProcessDraft.updated_at)).group_by(
        ProcessDraft.process_id
    )
    if process_id is not None:
        models_stmt = models_stmt.where(ProcessModel.process_id == process_id)
        versions_stmt = versions_stmt.join(ProcessVersion.model).where(ProcessModel.process_id == process_id)
        drafts_stmt = drafts_stmt.where(ProcessDraft.process_id == process_id)
    models = list(db.session.scalars(models_stmt))
    versions = list(db.session.scalars(versions_stmt))
    counts = instance_counts(user, [m.id for m in models])
    people = _people({v.deployed_by_id for v in versions})
    by_model: dict[int, list[VersionRow]] = defaultdict(list)
    for v in versions:
        by_model[v.model_id].append(VersionRow(v, people.get(v.deployed_by_id), counts.get(v.id, {})))
    out = {m.process_id: ModelRow(m.process_id, m, by_model.get(m.id, [])) for m in models}
    for pid, n, at in db.session.execute(drafts_stmt):
        row = out.setdefault(pid, ModelRow(pid, None))
        row.drafts, row.draft_at = n, at
    return list(out.values())
