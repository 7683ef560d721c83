"""Trigger rules (versioned: draft → validate → test bench → publish), scenarios and their evaluation.

A new record (app.enterprises.models.EnterpriseRecord) is matched against the published rule of each
code for its kind; each active scenario naming a matched rule then looks at the enterprise's records
within its window. A scenario that holds either merges into the open or recent hit of the same
enterprise and scenario (within `merge_days`) or opens a new hit and starts the dispatch process."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app import versioning
from app.audit import services as audit
from app.enterprises.expressions import problems, safe_evaluate
from app.enterprises.models import RECORD_KINDS, Enterprise, EnterpriseRecord
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.grading.models import JobMark
from app.models_base import utcnow
from app.triggers.models import TriggerHit, TriggerRule, TriggerScenario

TRIGGER_KINDS = ("complaint", "accident", "violation", "exchange", "grade_change", "label_change")
SAMPLE_VALUES = {
    "deaths": 0,
    "injuries": 0,
    "loss": 0,
    "from": "C",
    "to": "B",
    "worse": True,
    "label": "x",
    "action": "add",
    "category": "risk",
    "level": 1,
    "system": "",
    "item": "",
}


def names_for(record: EnterpriseRecord, enterprise: Enterprise | None) -> dict:
    """What a rule's condition can read: the record's values, its title, the enterprise's grade etc."""
    ns = dict(SAMPLE_VALUES)
    ns.update({k: v for k, v in (record.value or {}).items() if isinstance(k, str) and k.isidentifier()})
    ns.update(
        title=record.title,
        source=record.source,
        kind=record.kind,
        grade=getattr(enterprise, "grade", None),
        industry=getattr(enterprise, "industry_code", None),
        district=getattr(enterprise, "district_code", None),
    )
    return ns


# ---------------------------------------------------------------------------------------------
# rules


def published_rules() -> dict[str, TriggerRule]:
    return {r.code: r for r in db.session.scalars(select(TriggerRule).where(TriggerRule.status == "published"))}


def save_rule(actor, data: dict, rule: TriggerRule | None = None) -> TriggerRule:
    """A new draft (a new version when the code exists) or an edit of a draft."""
    code = (data.get("code") or (rule.code if rule else "")).strip()
    name = (data.get("name") or "").strip()
    kind = (data.get("record_kind") or "").strip()
    condition = (data.get("condition") or "").strip()
    errors = {}
    if not code or not code.replace("_", "").isalnum():
        errors["code"] = "编码只能由字母、数字和下划线组成"
    if not name:
        errors["name"] = "请填写规则名称"
    if kind not in TRIGGER_KINDS:
        errors["record_kind"] = "请选择数据类别"
    sample = EnterpriseRecord(kind=kind or "complaint", title="样例", source="样例", value={})
    found = problems(condition, names_for(sample, None))
    if found:
        errors["condition"] = "；".join(found)
    if errors:
        raise ValidationFailed("触发规则有误", errors=errors)
    if rule is not None and rule.status != "draft":
        raise Conflict("已发布的规则不能修改，请新建版本")
    if rule is None:
        version = versioning.next_version(TriggerRule, TriggerRule.code == code)
        rule = TriggerRule(code=code, version=version, created_by_id=actor.id, status="draft")
        db.session.add(rule)
    rule.name, rule.record_kind, rule.condition = name, kind, condition
    db.session.flush()
    audit.record(
        "trigger.rule.save",
        actor=actor,
        object_type="trigger_rule",
        object_id=rule.id,
        detail={"code": code, "version": rule.version},
    )
    return rule


def publish_rule(rule: TriggerRule, actor) -> TriggerRule:
    return versioning.publish(
        rule,
        TriggerRule.code == rule.code,
        actor=actor,
        action="trigger.rule.publish",
        object_type="trigger_rule",
        detail={"code": rule.code, "version": rule.version},
        refusal="只能发布草稿",
    )


def test_bench(rule: TriggerRule, *, months: int, now: datetime | None = None, limit: int = 200) -> dict:
    """规则试运行: what the rule would have matched over the last N months (nothing is written)."""
    months = max(1, min(int(months or 3), 36))
    since = (now or utcnow()).date() - timedelta(days=30 * months)
    rows = db.session.execute(
        select(EnterpriseRecord, Enterprise)
        .join(Enterprise, Enterprise.id == EnterpriseRecord.enterprise_id)
        .where(EnterpriseRecord.kind == rule.record_kind, EnterpriseRecord.occurred_on >= since)
        .order_by(EnterpriseRecord.occurred_on.desc(), EnterpriseRecord.id.desc())
    ).all()
    hits = [(rec, ent) for rec, ent in rows if safe_evaluate(rule.condition, names_for(rec, ent))]
    return {
        "scanned": len(rows),
        "matched": len(hits),
        "enterprises": len({e.id for _, e in hits}),
        "since": since,
        "rows": hits[:limit],
    }


# ---------------------------------------------------------------------------------------------
# scenarios


def save_scenario(actor, data: dict, scenario: TriggerScenario | None = None) -> TriggerScenario:
    errors = {}
    code = (data.get("code") or (scenario.code if scenario else "")).strip()
    codes = [c.strip() for c in (data.get("rule_codes") or "").replace("，", ",").split(",") if c.strip()]
    known = set(db.session.scalars(select(TriggerRule.code)))
    if not code or not code.replace("_", "").isalnum():
        errors["code"] = "编码只能由字母、数字和下划线组成"
    if not (data.get("name") or "").strip():
        errors["name"] = "请填写场景名称"
    if not codes or any(c not in known for c in codes):
        errors["rule_codes"] = "请填写已有的规则编码，多个用逗号分隔"
    ints = {}
    for field, lo, hi in (
        ("min_count", 1, 100),
        ("window_days", 1, 366),
        ("merge_days", 0, 366),
        ("deadline_days", 1, 60),
        ("remind_days", 0, 60),
    ):
        raw = str(data.get(field) or "").strip()
        if not raw.isdigit() or not lo <= int(raw) <= hi:
            errors[field] = f"请填写 {lo}–{hi} 之间的整数"
        else:
            ints[field] = int(raw)
    if not errors and ints["remind_days"] >= ints["deadline_days"]:
        errors["remind_days"] = "提醒须早于办理期限"
    if errors:
        raise ValidationFailed("触发场景有误", errors=errors)
    if scenario is None:
        if db.session.scalar(select(TriggerScenario.id).where(TriggerScenario.code == code)):
            raise Conflict("场景编码已存在")
        scenario = TriggerScenario(code=code)
        db.session.add(scenario)
    scenario.name, scenario.rule_codes = data["name"].strip(), codes
    scenario.mode = "all" if data.get("mode") == "all" else "any"
    for k, v in ints.items():
        setattr(scenario, k, v)
    scenario.active = data.get("active", "1") not in ("0", "", "off", False)
    db.session.flush()
    audit.record("trigger.scenario.save", actor=actor, object_type="trigger_scenario", object_id=scenario.id)
    return scenario


# ---------------------------------------------------------------------------------------------
# evaluation


def _scenario_holds(scenario: TriggerScenario, rules: dict[str, TriggerRule], ent: Enterprise, today) -> tuple:
    """(holds, matching record ids, matched rule codes) over the enterprise's records in the window."""
    used = [rules[c] for c in scenario.rule_codes if c in rules]
    if not used:
        return False, [], []
    kinds = {r.record_kind for r in used}
    recs = db.session.scalars(
        select(EnterpriseRecord).where(
            EnterpriseRecord.enterprise_id == ent.id,
            EnterpriseRecord.kind.in_(kinds),
            EnterpriseRecord.occurred_on > today - timedelta(days=scenario.window_days),
            EnterpriseRecord.occurred_on <= today,
        )
    )
    matched_ids, matched_codes = [], set()
    for rec in recs:
        ns = names_for(rec, ent)
        codes = {r.code for r in used if r.record_kind == rec.kind and safe_evaluate(r.condition, ns)}
        if codes:
            matched_ids.append(rec.id)
            matched_codes |= codes
    if scenario.mode == "all":
        holds = matched_codes >= {r.code for r in used} and len(matched_ids) >= scenario.min_count
    else:
        holds = len(matched_ids) >= scenario.min_count
    return holds, sorted(matched_ids), sorted(matched_codes)


def evaluate_record(
    rec: EnterpriseRecord, *, rules=None, scenarios=None, now: datetime | None = None, batch: dict | None = None
) -> list:
    """Evaluate one new record; returns the hits opened or merged.

    Alone (``batch`` None) a new hit's dispatch process starts at once. Within a round (``evaluate_new``),
    ``batch`` maps (enterprise, scenario) to the hit already opened or merged in this round, so later records
    merge in memory, and the dispatches are started once after the loop (``start_dispatches``)."""
    from app.triggers import process

    now = now or utcnow()
    rules = rules if rules is not None else published_rules()
    direct = {c for c, r in rules.items() if r.record_kind == rec.kind}
    if not direct:
        return []
    ent = rec.enterprise
    ns = names_for(rec, ent)
    matched = {c for c in direct if safe_evaluate(rules[c].condition, ns)}
    if not matched:
        return []
    scenarios = (
        scenarios
        if scenarios is not None
        else list(db.session.scalars(select(TriggerScenario).where(TriggerScenario.active.is_(True))))
    )
    out = []
    today = rec.occurred_on if rec.occurred_on > now.date() else now.date()
    for scn in scenarios:
        if not matched & set(scn.rule_codes):
            continue
        key = (ent.id, scn.id)
        recent = batch.get(key) if batch is not None else None
        if recent is not None:  # already holds in this round: merge without evaluating the window again
            _merge(recent, rec.id, [c for c in matched if c in scn.rule_codes], now)
            out.append(recent)
            continue
        holds, ids, codes = _scenario_holds(scn, rules, ent, today)
        if not holds:
            continue
        recent = db.session.scalar(
            select(TriggerHit)
            .where(
                TriggerHit.enterprise_id == ent.id,
                TriggerHit.scenario_id == scn.id,
                TriggerHit.first_at >= now - timedelta(days=scn.merge_days),
            )
            .order_by(TriggerHit.first_at.desc())
            .limit(1)
        )
        if recent is not None:
            _merge(recent, rec.id, codes, now)
        else:
            recent = TriggerHit(
                scenario_id=scn.id,
                enterprise_id=ent.id,
                org_id=process.district_of(ent).id,
                first_at=now,
                last_at=now,
                record_ids=ids,
                rule_codes=codes,
                status="handling",
            )
            recent.scenario, recent.enterprise = scn, ent
            db.session.add(recent)
            if batch is None:
                db.session.flush()
                process.start_for(recent)
        if batch is not None:
            batch[key] = recent
        out.append(recent)
    if batch is None:
        db.session.flush()
    return out


def _merge(hit: TriggerHit, record_id: int, codes, now: datetime) -> None:
    if record_id in (hit.record_ids or []):
        return
    hit.record_ids = sorted(set(hit.record_ids or []) | {record_id})
    hit.rule_codes = sorted(set(hit.rule_codes or []) | set(codes))
    hit.hit_count += 1
    hit.last_at = now


def start_dispatches(hits) -> int:
    """Start the dispatch process of each new hit of a round (one flush for all, then one start each)."""
    from app.triggers import process

    db.session.flush()
    started = 0
    for hit in hits:
        if hit.instance_id is None and hit.status == "handling":
            process.start_for(hit)
            started += 1
    db.session.flush()
    return started


def evaluate_new(now: datetime | None = None, *, batch: int = 5000) -> dict:
    """The scheduler-round job: evaluate records that arrived since the last round (a cursor by id). The
    round's hits are collected first (same enterprise and scenario merged in memory), then their
    dispatch processes are started after the loop."""
    mark = db.session.get(JobMark, "triggers.cursor")
    if mark is None:
        mark = JobMark(name="triggers.cursor", last_day="", detail={"last_id": 0})
        db.session.add(mark)
    last = int((mark.detail or {}).get("last_id") or 0)
    recs = list(
        db.session.scalars(
            select(EnterpriseRecord)
            .where(EnterpriseRecord.id > last, EnterpriseRecord.kind.in_(TRIGGER_KINDS))
            .order_by(EnterpriseRecord.id)
            .limit(batch)
        )
    )
    top = db.session.scalar(select(func.max(EnterpriseRecord.id))) or last
    rules = published_rules()
    scenarios = list(db.session.scalars(select(TriggerScenario).where(TriggerScenario.active.is_(True))))
    hits, round_hits = 0, {}
    with db.session.no_autoflush:
        for rec in recs:
            hits += len(evaluate_record(rec, rules=rules, scenarios=scenarios, now=now, batch=round_hits))
    started = start_dispatches(round_hits.values())
    new_last = recs[-1].id if len(recs) == batch else max(top, last)
    mark.detail = {"last_id": new_last, "evaluated": len(recs), "hits": hits, "started": started}
    db.session.flush()
    return {"evaluated": len(recs), "hits": hits, "started": started}


def get_hit(hit_id: int) -> TriggerHit:
    hit = db.session.get(TriggerHit, hit_id)
    if hit is None:
        raise NotFound("触发记录不存在")
    return hit


KIND_LABELS = {k: RECORD_KINDS[k] for k in TRIGGER_KINDS}
