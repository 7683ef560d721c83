"""评查: checklist versions (rule sets), the automatic checks of a case, the case_review process
(分派 → 评查打分 → 领导签发) and its service tasks, and `review_scores` for the appraisal module."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime

from sqlalchemy import func, or_, select

from app import versioning
from app.audit import services as audit
from app.auth.models import User
from app.cases import rules
from app.cases.models import CASE_TYPES, CONCLUSIONS, Case, CaseReview, ReviewRuleSet
from app.cases.rules import local_today
from app.engine.services import Linked, last_actor, service
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow

PROCESS_ID = "case_review"


# ---------------------------------------------------------------------------------------------
# rule sets (checklists), versioned


def published(case_type: str) -> ReviewRuleSet | None:
    return db.session.scalar(
        select(ReviewRuleSet)
        .where(ReviewRuleSet.case_type == case_type, ReviewRuleSet.status == "published")
        .order_by(ReviewRuleSet.version.desc())
        .limit(1)
    )


def ensure_defaults(actor=None) -> list[ReviewRuleSet]:
    """Version 1 of each case type's checklist from rules.DEFAULTS, published, when none exists yet."""
    made = []
    for case_type, default in rules.DEFAULTS.items():
        if db.session.scalar(select(ReviewRuleSet.id).where(ReviewRuleSet.case_type == case_type).limit(1)):
            continue
        rs = ReviewRuleSet(
            case_type=case_type,
            version=1,
            status="published",
            items=copy.deepcopy(default["items"]),
            limits=copy.deepcopy(default["limits"]),
            note="初始版本",
            created_by_id=getattr(actor, "id", None),
            published_at=utcnow(),
        )
        db.session.add(rs)
        made.append(rs)
    db.session.flush()
    return made


def versions(case_type: str) -> list[ReviewRuleSet]:
    return list(
        db.session.scalars(
            select(ReviewRuleSet).where(ReviewRuleSet.case_type == case_type).order_by(ReviewRuleSet.version.desc())
        )
    )


def parse_items(text: str) -> list[dict]:
    """Checklist lines "编号｜检查项｜分值｜自动检查" (the last part optional: a check name or code)."""
    by_name = {v: k for k, v in rules.CHECKS.items()}
    items, errors = [], []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("|", "｜").split("｜")]
        if len(parts) < 3:
            errors.append(f"第 {n} 行应为“编号｜检查项｜分值｜自动检查（可空）”")
            continue
        code, title, points = parts[:3]
        check = parts[3] if len(parts) > 3 else ""
        check = by_name.get(check, check)
        try:
            value = float(points)
        except ValueError:
            errors.append(f"第 {n} 行分值应为数字")
            continue
        if not code or not title or value <= 0:
            errors.append(f"第 {n} 行编号、检查项不能为空，分值应大于 0")
        elif check and check not in rules.CHECKS:
            errors.append(f"第 {n} 行自动检查「{check}」不存在，可选：" + "、".join(rules.CHECKS.values()))
        elif any(i["code"] == code for i in items):
            errors.append(f"第 {n} 行编号 {code} 重复")
        else:
            items.append({"code": code, "title": title, "points": value, "check": check})
    if not items and not errors:
        errors.append("检查项不能为空")
    if errors:
        raise ValidationFailed("；".join(errors), errors={"items": "；".join(errors)})
    return items


def items_text(rs: ReviewRuleSet | dict) -> str:
    """The checklist of a version (or of a rules.DEFAULTS entry) as the edit form's lines."""
    items = rs["items"] if isinstance(rs, dict) else rs.items
    return "\n".join(
        f"{i['code']}｜{i['title']}｜{i['points']:g}｜{rules.CHECKS.get(i.get('check') or '', '')}" for i in items
    )


def save_draft(actor, case_type: str, items_raw: str, limits_raw: str, note: str) -> ReviewRuleSet:
    """An edit is always a new draft version (published ones stay as they were reviews used them)."""
    if case_type not in CASE_TYPES:
        raise ValidationFailed("程序类型无效", errors={"case_type": "程序类型无效"})
    items = parse_items(items_raw)
    try:
        limits = json.loads(limits_raw or "{}")
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"规则表不是有效的 JSON（第 {exc.lineno} 行）", errors={"limits": "JSON 格式错误"}
        ) from exc
    if not isinstance(limits, dict) or not isinstance(limits.get("deadlines", []), list):
        raise ValidationFailed("规则表应为对象，deadlines 应为列表", errors={"limits": "结构错误"})
    for d in limits.get("deadlines", []):
        if not isinstance(d, dict) or not {"code", "from", "to", "days"} <= set(d) or not str(d["days"]).isdigit():
            raise ValidationFailed(
                "每条期限规则应有 code、from、to、days（非负整数）", errors={"limits": "期限规则不完整"}
            )
    draft = db.session.scalar(
        select(ReviewRuleSet).where(ReviewRuleSet.case_type == case_type, ReviewRuleSet.status == "draft")
    )
    if draft is None:
        number = versioning.next_version(ReviewRuleSet, ReviewRuleSet.case_type == case_type)
        draft = ReviewRuleSet(case_type=case_type, version=number, created_by_id=actor.id)
        db.session.add(draft)
    draft.items, draft.limits, draft.note = items, limits, (note or "")[:300]
    db.session.flush()
    return draft


def publish(rs: ReviewRuleSet, actor=None) -> None:
    versioning.publish(
        rs,
        ReviewRuleSet.case_type == rs.case_type,
        actor=actor,
        action="case_rules.publish",
        object_type="case_rule_set",
        detail={"case_type": rs.case_type, "version": rs.version},
        refusal="只有草稿版本可以发布",
    )


# ---------------------------------------------------------------------------------------------
# automatic checks of a case


def check_case(case: Case, rs: ReviewRuleSet | None = None, *, today: date | None = None) -> list[dict]:
    """One row per checklist item: the item and, for automatic items, pass/fail with the explanation."""
    rs = rs or published(case.case_type)
    if rs is None:
        return []
    results = rules.run_checks(case, rs.limits or {}, today=today or local_today())
    out = []
    for item in rs.items:
        row = dict(item)
        result = results.get(item.get("check") or "")
        if item.get("check") and result is None:
            result = rules.CheckResult(item["check"], True, "不适用：规则表未配置该项")
        row["auto"] = None if result is None else result.passed
        row["auto_message"] = "" if result is None else result.message
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------
# the review process


def reviews_of(case: Case) -> list[CaseReview]:
    return list(
        db.session.scalars(select(CaseReview).where(CaseReview.case_id == case.id).order_by(CaseReview.id.desc()))
    )


def latest_signed(case: Case) -> CaseReview | None:
    return db.session.scalar(
        select(CaseReview)
        .where(CaseReview.case_id == case.id, CaseReview.status == "signed")
        .order_by(CaseReview.signed_at.desc())
        .limit(1)
    )


def start_review(case: Case, actor) -> CaseReview:
    """发起评查: the review row with the pre-filled automatic results, and the process in the inbox."""
    from app.engine import runtime

    if not actor.can("case.review"):
        raise PermissionDenied("您没有发起案卷评查的权限")
    running = db.session.scalar(
        select(CaseReview.id).where(CaseReview.case_id == case.id, CaseReview.status.not_in(("signed",)))
    )
    if running:
        raise Conflict("该案件已有进行中的评查")
    rs = published(case.case_type)
    if rs is None:
        raise ValidationFailed(f"「{case.type_label}」还没有发布的评查规则，请先在评查规则中发布")
    rows = check_case(case, rs)
    for r in rows:
        r["score"] = (r["points"] if r["auto"] else 0.0) if r["auto"] is not None else None
        r["reason"] = ""
    review = CaseReview(case_id=case.id, rule_set_id=rs.id, scores=rows, started_by_id=actor.id)
    db.session.add(review)
    db.session.flush()
    failed = [r for r in rows if r["auto"] is False]
    data = {
        "review_id": review.id,
        "case_id": case.id,
        "subject": f"案卷评查：{case.number} {case.title}",
        "case_number": case.number,
        "case_title": case.title,
        "case_org": case.org.name,
        "rule_version": f"{rs.type_label}评查规则 第 {rs.version} 版",
        "auto_summary": f"自动检查 {sum(1 for r in rows if r['auto'] is not None)} 项，未通过 {len(failed)} 项"
        + ("：" + "；".join(r["title"] for r in failed) if failed else ""),
        "case_url": f"/cases/{case.id}",
        "score_url": f"/cases/reviews/{review.id}/score",
    }
    instance = runtime.start(
        PROCESS_ID, actor=actor, org=case.org, data=data, business_key=f"case-review:{review.id}", entry="case_page"
    )
    review.instance_id = instance.id
    audit.record(
        "case_review.start",
        actor=actor,
        object_type="case_review",
        object_id=review.id,
        detail={"number": case.number, "rule_version": rs.version},
    )
    return review


_review = Linked(CaseReview, "review_id", "评查记录", object_type="case_review")


@service("cases.assign")
def assign(data: dict) -> str:
    review = _review(data)
    login = str(data.get("reviewer_login") or "").strip()
    user = db.session.scalar(select(User).where(or_(User.login == login, User.name == login)).limit(1))
    if user is None:
        raise ValidationFailed(f"评查人「{login}」不存在，请重新选择", errors={"reviewer_login": "评查人不存在"})
    review.reviewer_id = user.id
    if review.status != "returned":  # a review sent back keeps saying so until it is scored again
        review.status = "scoring"
    return review.status


@service("cases.scored")
def scored(data: dict) -> float:
    """After 评查打分: refuses (the reviewer's act is undone) while an item has no score."""
    review = _review(data)
    if any(r.get("score") is None for r in review.scores) or not review.conclusion:
        raise ValidationFailed("还有检查项没有打分或没有评查结论，请在评查打分页面逐项打分后提交")
    review.status = "signoff"
    return review.total_score or 0.0


@service("cases.sign")
def sign(data: dict) -> str:
    signer = last_actor(data)
    _review.settle(data, "signed", stamp="signed_at", signed_by_id=signer.id if signer else None)
    return "signed"


@service("cases.send_back")
def send_back(data: dict) -> str:
    _review.settle(data, "returned", remark=(data.get("last_comment") or "签发退回")[:500])
    return ""  # clears score_summary: the 评查打分 task can only be completed by scoring again


def open_task(review: CaseReview, actor):
    """The actor's open 评查打分 task of the review's process, if any."""
    from app.engine.models import ProcessInstance
    from app.inbox.queries import can_act
    from app.inbox.services import open_rows

    instance = db.session.get(ProcessInstance, review.instance_id) if review.instance_id else None
    rows = open_rows(instance) if instance is not None else []
    return next((r for r in rows if r.status == "open" and r.step == "score" and can_act(actor, r)), None)


def load_for_reviewer(review_id: int, actor) -> tuple[CaseReview, object]:
    review = db.session.get(CaseReview, review_id)
    if review is None:
        raise NotFound("评查记录不存在")
    if review.status not in ("scoring", "returned"):
        raise Conflict(f"该评查当前为「{review.status_label}」，不能打分")
    row = open_task(review, actor)
    if row is None:
        raise PermissionDenied("您不是该案卷的评查人")
    return review, row


def save_scores(review_id: int, actor, form) -> CaseReview:
    """Store the reviewer's score per item (an override of an automatic result needs a reason), the total
    and the conclusion, then complete the 评查打分 task in the inbox."""
    from app.inbox import actions

    review, row = load_for_reviewer(review_id, actor)
    errors, rows = {}, []
    for item in review.scores:
        code = item["code"]
        raw = str(form.get(f"score_{code}", "")).strip()
        reason = str(form.get(f"reason_{code}", "")).strip()[:300]
        try:
            value = float(raw)
        except ValueError:
            errors[f"score_{code}"] = f"「{item['title']}」请填写得分（数字）"
            continue
        if not 0 <= value <= float(item["points"]):
            errors[f"score_{code}"] = f"「{item['title']}」得分应在 0–{float(item['points']):g} 分之间"
            continue
        if item.get("auto") is not None:
            expected = float(item["points"]) if item["auto"] else 0.0
            if value != expected and not reason:
                errors[f"reason_{code}"] = f"「{item['title']}」改变了自动检查结果，请说明理由"
                continue
        rows.append({**item, "score": round(value, 1), "reason": reason})
    conclusion = str(form.get("conclusion", "")).strip()
    if conclusion not in CONCLUSIONS:
        errors["conclusion"] = "请选择评查结论（优秀、合格、不合格）"
    if errors:
        raise ValidationFailed("评查打分有误：" + "；".join(errors.values()), errors=errors)
    review.scores = rows
    review.total_score = round(sum(r["score"] for r in rows), 1)
    review.conclusion, review.scored_at = conclusion, utcnow()
    review.remark = str(form.get("remark", "")).strip()[:500] or None
    db.session.flush()
    actions.complete(
        row,
        actor,
        action="complete",
        form_data={
            "total_score": review.total_score,
            "conclusion_label": CONCLUSIONS[conclusion],
            "score_summary": f"{review.total_score:g} 分，{CONCLUSIONS[conclusion]}",
        },
    )
    return review


def suggested(review: CaseReview) -> str:
    total = sum(float(r.get("score") or 0) for r in review.scores)
    return rules.suggest_conclusion(total, review.rule_set.limits or {})


# ---------------------------------------------------------------------------------------------
# for the appraisal module


def review_scores(org_ids, period_start: datetime | date, period_end: datetime | date, *, officer_ids=None) -> dict:
    """Average signed review score per reviewed unit (the case's organisation) and per officer (主办人),
    for reviews signed in [period_start, period_end). `org_ids`: ids or a subquery; None: all units;
    `officer_ids`: only the cases of these officers.

    Returns {"units": {org_id: {"average", "count"}}, "officers": {user_id: {"average", "count"}}}."""
    start = period_start if isinstance(period_start, datetime) else datetime.combine(period_start, datetime.min.time())
    end = period_end if isinstance(period_end, datetime) else datetime.combine(period_end, datetime.min.time())
    from app.engine.runtime import SHANGHAI

    if start.tzinfo is None:
        start = start.replace(tzinfo=SHANGHAI)
    if end.tzinfo is None:
        end = end.replace(tzinfo=SHANGHAI)
    where = [CaseReview.status == "signed", CaseReview.signed_at >= start, CaseReview.signed_at < end]
    if org_ids is not None:
        where.append(Case.org_id.in_(org_ids))
    if officer_ids is not None:
        where.append(Case.officer_id.in_(officer_ids))
    out: dict = {"units": {}, "officers": {}}
    for key, column in (("units", Case.org_id), ("officers", Case.officer_id)):
        stmt = (
            select(column, func.avg(CaseReview.total_score), func.count(CaseReview.id))
            .join(Case, Case.id == CaseReview.case_id)
            .where(*where, column.is_not(None))
            .group_by(column)
        )
        for ident, avg, count in db.session.execute(stmt):
            out[key][ident] = {"average": round(float(avg or 0), 2), "count": int(count)}
    return out
