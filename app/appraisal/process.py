"""The appraisal processes in the inbox: appraisal (reviewers score -> leader review -> publish ->
objection window -> archive) and appraisal_objection (a person's objection, handled by the appraisal
office; it may change the result, always with a recorded reason)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.appraisal import compute
from app.appraisal.models import AppraisalResult, AppraisalReview, AppraisalRound, AppraisalScheme
from app.appraisal.schemes import normalise_period, require_admin
from app.audit import services as audit
from app.auth.models import User
from app.demo.reference import CITY_CODE
from app.engine import runtime
from app.engine.services import Linked, service
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox.notify import notify
from app.models_base import utcnow
from app.orgs.models import Organisation

ENTRY = "appraisal_page"
REVIEWER_PERMISSION = "appraisal.admin"


_round = Linked(AppraisalRound, "round_id", "考核轮次", object_type="appraisal_round")
_result = Linked(AppraisalResult, "result_id", "考核结果", object_type="appraisal_result")


def parse_reviewers(text: str | list | None) -> list[str]:
    """Reviewer logins (comma, Chinese comma or space separated), each an active account that may review."""
    if isinstance(text, list):
        logins = text
    else:
        logins = [x for x in (text or "").replace("，", ",").replace(" ", ",").split(",") if x.strip()]
    logins = list(dict.fromkeys(x.strip() for x in logins))
    if not logins:
        raise ValidationFailed("请至少指定一名评议人", errors={"reviewers": "请填写评议人账号"})
    users = {u.login: u for u in db.session.scalars(select(User).where(User.login.in_(logins)))}
    bad = [x for x in logins if x not in users or users[x].status != "active"]
    if bad:
        raise ValidationFailed(f"评议人账号不存在或已停用：{'、'.join(bad)}", errors={"reviewers": "评议人无效"})
    return logins


def create_round(scheme: AppraisalScheme, period: str, *, actor, reviewers) -> AppraisalRound:
    """A new round of a published scheme (computation is queued by the caller as a background job)."""
    require_admin(actor)
    if scheme.status != "published":
        raise Conflict("只能按已发布的考核方案发起考核")
    period = normalise_period(scheme.period_type, period)
    logins = parse_reviewers(reviewers)
    same = db.session.scalar(
        select(AppraisalRound)
        .join(AppraisalScheme, AppraisalScheme.id == AppraisalRound.scheme_id)
        .where(AppraisalScheme.code == scheme.code, AppraisalRound.period == period)
    )
    if same is not None:
        raise Conflict(f"{scheme.name} {period} 已发起考核（{same.status_label}）")
    city = db.session.scalar(select(Organisation).where(Organisation.code == CITY_CODE)) or actor.org
    r = AppraisalRound(scheme_id=scheme.id, period=period, org_id=city.id, reviewers=logins, created_by_id=actor.id)
    db.session.add(r)
    db.session.flush()
    audit.record("appraisal.round_create", actor=actor, object_type="appraisal_round", object_id=r.id)
    return r


def summary(r: AppraisalRound) -> str:
    rows = list(db.session.scalars(select(AppraisalResult).where(AppraisalResult.round_id == r.id)))
    scored = [x.final_total for x in rows if x.final_total is not None]
    avg = f"{sum(scored) / len(scored):.1f}" if scored else "-"
    leaders = sum(1 for x in rows if x.kind == "leader")
    return f"参加考核 {len(rows)} 人（其中负责人 {leaders} 人），有成绩 {len(scored)} 人，平均分 {avg}"


def start_review(r: AppraisalRound, *, actor) -> None:
    """Put the computed round into the reviewers' inboxes (评议打分)."""
    r.status = "scoring"
    data = {
        "round_id": r.id,
        "scheme_name": r.scheme.name,
        "period": r.period,
        "summary": summary(r),
        "reviewers": ",".join(r.reviewers or []),
        "score_link": f"/appraisal/rounds/{r.id}/score",
        "result_link": f"/appraisal/rounds/{r.id}",
        "subject": f"评议考核：{r.scheme.name} {r.period}",
    }
    org = db.session.get(Organisation, r.org_id)
    inst = runtime.start("appraisal", actor=actor, org=org, data=data, business_key=f"appr:{r.id}", entry=ENTRY)
    r.instance_id = inst.id


def may_score(r: AppraisalRound, user) -> bool:
    return r.status == "scoring" and user.login in (r.reviewers or [])


def save_scores(r: AppraisalRound, form, *, actor) -> int:
    """One reviewer's scores (score_<user id>, 0-100; blank = not scored)."""
    if not may_score(r, actor):
        raise PermissionDenied("本轮考核不在评议阶段，或您不是本轮评议人")
    people = {x.user_id for x in db.session.scalars(select(AppraisalResult).where(AppraisalResult.round_id == r.id))}
    held = {
        x.user_id: x
        for x in db.session.scalars(
            select(AppraisalReview).where(AppraisalReview.round_id == r.id, AppraisalReview.reviewer_id == actor.id)
        )
    }
    errors, saved = {}, 0
    for key in form:
        if not key.startswith("score_"):
            continue
        try:
            uid = int(key[6:])
        except ValueError:
            continue
        raw = (form.get(key) or "").strip()
        if uid not in people or not raw:
            continue
        try:
            score = float(raw)
        except ValueError:
            errors[key] = "评分应为数字"
            continue
        if not 0 <= score <= 100:
            errors[key] = "评分应在 0 到 100 之间"
            continue
        row = held.get(uid) or AppraisalReview(round_id=r.id, user_id=uid, reviewer_id=actor.id, score=score)
        row.score, row.scored_at = score, utcnow()
        row.comment = (form.get(f"comment_{uid}") or "").strip()[:300] or None
        db.session.add(row)
        saved += 1
    if errors:
        raise ValidationFailed("评分有误，请按提示修改（0 到 100 分）", errors=errors)
    db.session.flush()
    return saved


@service("appraisal.scored")
def scored(data: dict) -> str:
    """All reviewers have submitted: recompute with their scores, go to the leader's review."""
    r = _round(data)
    compute.compute_round(r)
    r.status = "reviewing"
    audit.record("appraisal.scored", object_type="appraisal_round", object_id=r.id)
    return summary(r)


@service("appraisal.returned")
def returned(data: dict) -> str:
    r = _round.settle(data, "scoring", review_comment=data.get("last_comment") or data.get("comment"))
    return r.review_comment or ""


@service("appraisal.publish")
def publish(data: dict) -> str:
    """Publish the results and open the objection window; returns its end (the timer's date)."""
    r = _round(data)
    now = utcnow()
    r.status, r.published_at = "published", now
    r.objection_until = now + timedelta(days=r.scheme.objection_days)
    rows = list(db.session.scalars(select(AppraisalResult).where(AppraisalResult.round_id == r.id)))
    for row in rows:
        if row.status == "computed":
            row.status = "published"
    notify(
        [x.user_id for x in rows],
        kind="appraisal",
        title=f"{r.scheme.name} {r.period} 考核结果已公布",
        body=f"如有异议，请在 {r.scheme.objection_days} 天内提出",
        url="/appraisal/mine",
    )
    audit.record("appraisal.publish", object_type="appraisal_round", object_id=r.id)
    return r.objection_until.isoformat()


@service("appraisal.close")
def close(data: dict) -> bool:
    _round.settle(data, "closed", stamp="closed_at", audit="appraisal.close")
    return True


# ---------------------------------------------------------------- objections


def object_to(result: AppraisalResult, *, actor, reason: str):
    """A person's objection to their own published result, inside the objection window."""
    if result.user_id != actor.id:
        raise PermissionDenied("只能对本人的考核结果提出异议")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed("请填写异议理由（至少 4 个字）", errors={"reason": "请填写异议理由（至少 4 个字）"})
    r = result.round
    if r.status != "published" or (r.objection_until and utcnow() > r.objection_until):
        raise Conflict("异议期已过或结果尚未公布，不能提出异议")
    if result.status != "published":
        raise Conflict(f"该结果{result.status_label}，不能再次提出异议")
    data = {
        "result_id": result.id,
        "person": f"{actor.name}（{actor.org.name}）",
        "period": f"{r.scheme.name} {r.period}",
        "total_label": f"{result.final_total if result.final_total is not None else '无成绩'} 分，"
        f"{result.grade or '-'}，第 {result.rank or '-'} 名",
        "detail": describe(result),
        "objection_reason": reason,
        "subject": f"考核异议：{actor.name} {r.period}"[:200],
    }
    inst = runtime.start(
        "appraisal_objection",
        actor=actor,
        org=db.session.get(Organisation, r.org_id),
        data=data,
        business_key=f"apprx:{result.id}",
        entry=ENTRY,
    )
    result.status, result.objection_reason, result.objection_instance_id = "objected", reason, inst.id
    audit.record("appraisal.object", actor=actor, object_type="appraisal_result", object_id=result.id)
    return inst


def describe(result: AppraisalResult) -> str:
    lines = []
    for v in (result.values or {}).values():
        value = "无数据" if v.get("value") is None else f"{v['value']:g}"
        score = "—" if v.get("score") is None else f"{v['score']:g} 分"
        weight = f"，权重 {v['weight']:g}" if v.get("weight") is not None else ""
        lines.append(f"{v.get('name')}：{value}（得分 {score}{weight}）")
    return "\n".join(lines)


@service("appraisal.objection_decided")
def objection_decided(data: dict) -> str:
    """Uphold or adjust; an adjustment needs the new total and a reason, both recorded."""
    result = _result(data)
    reason = (data.get("decision_reason") or "").strip()
    if not reason:
        raise ValidationFailed("请填写处理理由", errors={"decision_reason": "请填写处理理由"})
    if data.get("ruling") == "adjust":
        try:
            total = round(float(data.get("adjusted_total")), 1)
        except (TypeError, ValueError):
            raise ValidationFailed(
                "调整结果时请填写调整后得分", errors={"adjusted_total": "请填写调整后得分"}
            ) from None
        if not 0 <= total <= 100:
            raise ValidationFailed("调整后得分应在 0 到 100 之间", errors={"adjusted_total": "0 到 100"})
        result.adjusted_total, result.status = total, "adjusted"
        result.grade = compute.grade_of(total)
        peers = list(
            db.session.scalars(
                select(AppraisalResult).where(
                    AppraisalResult.round_id == result.round_id, AppraisalResult.kind == result.kind
                )
            )
        )
        compute.rank([(None, p) for p in peers])
    else:
        result.status = "upheld"
    result.adjust_reason = reason
    outcome = f"调整为 {result.adjusted_total:g} 分" if result.status == "adjusted" else "维持原结果"
    notify(
        [result.user_id],
        kind="appraisal",
        title=f"考核异议已处理：{outcome}",
        body=reason,
        url="/appraisal/mine",
    )
    audit.record(
        "appraisal.objection_decide",
        object_type="appraisal_result",
        object_id=result.id,
        detail={"status": result.status, "adjusted_total": result.adjusted_total, "reason": reason},
    )
    return result.status
