"""Grade recomputation, model versions (draft → validate → dry run → publish), monthly snapshots.

Recompute writes only what changed: the current score row, a history row, the enterprise's grade,
and a `grade_change` record (which trigger rules see) when a grade moves after a first score."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import delete, func, insert, select, update

from app.audit import services as audit
from app.engine.runtime import SHANGHAI
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.grading.indicators import gather
from app.grading.models import EnterpriseScore, GradeModel, GradeSnapshot, ScoreHistory
from app.grading.scoring import Scorer, check_sources, default_sources, sources_hash
from app.models_base import utcnow

GRADE_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}  # A is the closest supervision
SAMPLE_LIMIT = 300
_SCORERS: dict[tuple, Scorer] = {}


def today_local() -> date:
    return utcnow().astimezone(SHANGHAI).date()


def published_model() -> GradeModel:
    """The published version; the first call creates version 1 from rules/*.dmn."""
    model = db.session.scalar(select(GradeModel).where(GradeModel.status == "published"))
    if model is None:
        points, grade = default_sources()
        model = GradeModel(
            version=1,
            name="企业安全生产监管等级模型",
            status="published",
            points_dmn=points,
            grade_dmn=grade,
            note="初始版本：来自规则库的积分规则表与等级评定表",
            published_at=utcnow(),
        )
        db.session.add(model)
        db.session.flush()
    return model


def scorer_for(model: GradeModel) -> Scorer:
    key = (model.id, sources_hash(model.points_dmn, model.grade_dmn))
    scorer = _SCORERS.get(key)
    if scorer is None:
        if len(_SCORERS) > 32:
            _SCORERS.clear()
        scorer = _SCORERS[key] = Scorer(model.points_dmn, model.grade_dmn, model.id, model.version)
    return scorer


def recompute(enterprise_ids: list[int] | None = None, *, reason: str, today: date | None = None) -> dict:
    """Recompute the given enterprises (all when None) with the published model; returns counts."""
    today = today or today_local()
    model = published_model()
    scorer = scorer_for(model)
    inputs = gather(enterprise_ids, today)
    ids = list(inputs)
    current: dict[int, tuple] = {}
    cur_stmt = select(
        EnterpriseScore.enterprise_id,
        EnterpriseScore.model_id,
        EnterpriseScore.total,
        EnterpriseScore.grade,
        EnterpriseScore.entries,
        EnterpriseScore.inputs,
    )
    if enterprise_ids is not None:
        cur_stmt = cur_stmt.where(EnterpriseScore.enterprise_id.in_(ids))
    for eid, mid, total, grade, entries, inp in db.session.execute(cur_stmt):
        current[eid] = (mid, total, grade, entries, inp)
    new_rows, upd_rows, history, grades, records, inputs_only = [], [], [], [], [], []
    now = utcnow()
    for eid in ids:
        total, grade, entries, _why = scorer.score(inputs[eid])
        entries = list(entries)
        cur = current.get(eid)
        if cur is not None and cur[0] == model.id and cur[1] == total and cur[2] == grade and cur[3] == entries:
            if cur[4] != inputs[eid]:  # the data moved but not the score: keep the explanation's data current
                inputs_only.append({"enterprise_id": eid, "inputs": inputs[eid]})
            continue
        row = {
            "enterprise_id": eid,
            "model_id": model.id,
            "total": total,
            "grade": grade,
            "entries": entries,
            "inputs": inputs[eid],
            "reason": reason[:120],
            "computed_at": now,
        }
        (upd_rows if cur is not None else new_rows).append(row)
        history.append(
            {
                "enterprise_id": eid,
                "model_id": model.id,
                "total": total,
                "grade": grade,
                "previous_grade": cur[2] if cur else None,
                "previous_total": cur[1] if cur else None,
                "entries": entries,
                "reason": reason[:120],
                "computed_at": now,
            }
        )
        if cur is None or cur[2] != grade:
            grades.append({"id": eid, "grade": grade})
        if cur is not None and cur[2] != grade:
            worse = GRADE_RANK[grade] < GRADE_RANK[cur[2]]
            records.append(
                {
                    "enterprise_id": eid,
                    "kind": "grade_change",
                    "occurred_on": today,
                    "title": f"监管等级由 {cur[2]} 级调整为 {grade} 级（积分 {cur[1]} → {total}）",
                    "value": {"from": cur[2], "to": grade, "worse": worse, "total": total},
                    "source": "系统：等级评估",
                    "source_ref": reason[:100],
                    "created_at": now,
                }
            )
    if new_rows:
        db.session.execute(insert(EnterpriseScore), new_rows)
    if upd_rows:
        db.session.execute(update(EnterpriseScore), upd_rows)
    if inputs_only:
        db.session.execute(update(EnterpriseScore), inputs_only)
    if history:
        db.session.execute(insert(ScoreHistory), history)
    if grades:
        db.session.execute(update(Enterprise), grades)
    if records:
        db.session.execute(insert(EnterpriseRecord), records)
    db.session.flush()
    return {
        "scanned": len(ids),
        "changed": len(history),
        "grade_changed": len(records),
        "model": model.version,
        "distinct_inputs": len(scorer._memo),
    }


# ---------------------------------------------------------------------------------------------
# model versions


def get_model(model_id: int) -> GradeModel:
    model = db.session.get(GradeModel, model_id)
    if model is None:
        raise NotFound("模型版本不存在")
    return model


def new_draft(actor, *, base: GradeModel | None = None) -> GradeModel:
    base = base or published_model()
    version = (db.session.scalar(select(func.max(GradeModel.version))) or 0) + 1
    draft = GradeModel(
        version=version,
        name=base.name,
        status="draft",
        points_dmn=base.points_dmn,
        grade_dmn=base.grade_dmn,
        note=f"基于第 {base.version} 版",
        created_by_id=actor.id,
    )
    db.session.add(draft)
    db.session.flush()
    audit.record("grading.model.draft", actor=actor, object_type="grade_model", object_id=draft.id)
    return draft


def save_draft(model: GradeModel, actor, *, points_dmn: str, grade_dmn: str, note: str | None) -> list[str]:
    if model.status != "draft":
        raise Conflict("只能修改草稿版本")
    problems = check_sources(points_dmn, grade_dmn)
    if problems:
        raise ValidationFailed("决策表校验未通过：" + "；".join(problems[:5]), errors={"points_dmn": problems})
    model.points_dmn, model.grade_dmn, model.note = points_dmn, grade_dmn, (note or "").strip() or model.note
    model.dryrun, model.dryrun_at = {}, None
    db.session.flush()
    return problems


def dry_run(model: GradeModel, actor=None, *, today: date | None = None) -> dict:
    """Score every enterprise with the draft; nothing is written except the summary on the draft."""
    problems = check_sources(model.points_dmn, model.grade_dmn)
    if problems:
        raise ValidationFailed("决策表校验未通过：" + "；".join(problems[:5]))
    scorer = Scorer(model.points_dmn, model.grade_dmn)
    inputs = gather(None, today or today_local())
    current = dict(db.session.execute(select(Enterprise.id, Enterprise.grade)).all())
    moves: Counter = Counter()
    before, after = Counter(), Counter()
    changed = []
    for eid, inp in inputs.items():
        total, grade, _entries, _ = scorer.score(inp)
        old = current.get(eid)
        before[old or "—"] += 1
        after[grade] += 1
        if old != grade:
            moves[f"{old or '—'}→{grade}"] += 1
            changed.append((eid, old, grade, total))
    names = {}
    if changed:
        sample_ids = [c[0] for c in changed[:SAMPLE_LIMIT]]
        names = {
            i: (n, d)
            for i, n, d in db.session.execute(
                select(Enterprise.id, Enterprise.name, Enterprise.district_code).where(Enterprise.id.in_(sample_ids))
            )
        }
    summary = {
        "hash": sources_hash(model.points_dmn, model.grade_dmn),
        "total": len(inputs),
        "changed": len(changed),
        "moves": dict(sorted(moves.items())),
        "before": dict(sorted(before.items())),
        "after": dict(sorted(after.items())),
        "sample": [
            {
                "id": eid,
                "name": names.get(eid, ("", ""))[0],
                "district": names.get(eid, ("", ""))[1],
                "from": old,
                "to": new,
                "total": total,
            }
            for eid, old, new, total in changed[:SAMPLE_LIMIT]
        ],
    }
    model.dryrun, model.dryrun_at = summary, utcnow()
    db.session.flush()
    if actor is not None:
        audit.record(
            "grading.model.dryrun",
            actor=actor,
            object_type="grade_model",
            object_id=model.id,
            detail={"changed": len(changed)},
        )
    return summary


def publish(model: GradeModel, actor) -> dict:
    """Publish a dry-run draft: the old version retires and every enterprise is recomputed."""
    if model.status != "draft":
        raise Conflict("只能发布草稿版本")
    if not model.dryrun or model.dryrun.get("hash") != sources_hash(model.points_dmn, model.grade_dmn):
        raise ValidationFailed("发布前须先对全部企业试运行当前草稿")
    db.session.execute(update(GradeModel).where(GradeModel.status == "published").values(status="retired"))
    model.status, model.published_at, model.published_by_id = "published", utcnow(), actor.id
    db.session.flush()
    result = recompute(reason=f"模型发布：第 {model.version} 版")
    audit.record("grading.model.publish", actor=actor, object_type="grade_model", object_id=model.id, detail=result)
    return result


# ---------------------------------------------------------------------------------------------
# monthly snapshots (month-over-month display)


def snapshot(month: str | None = None) -> int:
    month = month or today_local().strftime("%Y-%m")
    rows = db.session.execute(
        select(Enterprise.org_id, Enterprise.district_code, Enterprise.industry_code, Enterprise.grade, func.count())
        .where(Enterprise.grade.is_not(None))
        .group_by(Enterprise.org_id, Enterprise.district_code, Enterprise.industry_code, Enterprise.grade)
    ).all()
    db.session.execute(delete(GradeSnapshot).where(GradeSnapshot.month == month))
    if rows:
        db.session.execute(
            insert(GradeSnapshot),
            [
                {
                    "month": month,
                    "org_id": o,
                    "district_code": d or "",
                    "industry_code": i or "",
                    "grade": g,
                    "count": n,
                }
                for o, d, i, g, n in rows
            ],
        )
    db.session.flush()
    return len(rows)


def snapshot_as_of(day: date) -> int:
    """Backfill the snapshot of `day`'s month: grades as the published model gives them on the data known
    on `day` (nothing else is written)."""
    scorer = scorer_for(published_model())
    inputs = gather(None, day)
    meta = {
        i: (o, d, ind)
        for i, o, d, ind in db.session.execute(
            select(Enterprise.id, Enterprise.org_id, Enterprise.district_code, Enterprise.industry_code)
        )
    }
    counts: Counter = Counter()
    for eid, inp in inputs.items():
        org_id, district, industry = meta[eid]
        counts[(org_id, district or "", industry or "", scorer.score(inp)[1])] += 1
    month = day.strftime("%Y-%m")
    db.session.execute(delete(GradeSnapshot).where(GradeSnapshot.month == month))
    if counts:
        db.session.execute(
            insert(GradeSnapshot),
            [
                {"month": month, "org_id": o, "district_code": d, "industry_code": i, "grade": g, "count": n}
                for (o, d, i, g), n in counts.items()
            ],
        )
    db.session.flush()
    return len(counts)
