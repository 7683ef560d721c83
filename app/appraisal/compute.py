"""The computation of one round: item values from the data sources, reviewer scores, weighted totals,
grades and ranks for staff; 负责人考核生成 for leaders from their units' staff results.

Scoring of one item: the value is mapped linearly from `zero` (0 points) to `full` (100 points) and
clipped to 0-100. A person without data for an item has that item left out and the weights of the others
rescaled (so missing data neither rewards nor punishes); without data for any item there is no total.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from app.appraisal import sources
from app.appraisal.models import AppraisalResult, AppraisalReview, AppraisalRound, AppraisalScheme
from app.appraisal.schemes import period_bounds
from app.auth.models import User
from app.extensions import db
from app.models_base import utcnow
from app.ops.replica import replica_reads
from app.orgs.models import Organisation

STAFF_ROLES = {
    "city_officer",
    "district_officer",
    "street_officer",
    "section_chief",
    "district_leader",
    "city_leader",
}
STAFF_ORG_KINDS = {"city", "section", "district", "street"}
GRADES = ((90.0, "优秀"), (75.0, "合格"), (60.0, "基本合格"), (0.0, "不合格"))


def grade_of(total: float | None) -> str | None:
    if total is None:
        return None
    return next(label for line, label in GRADES if total >= line)


def item_score(value: float, full: float, zero: float) -> float:
    if full == zero:
        return 100.0
    return round(max(0.0, min(100.0, 100.0 * (value - zero) / (full - zero))), 1)


def weighted(values: dict) -> float | None:
    """The weighted total over the items that have data (weights rescaled), or None."""
    have = [v for v in values.values() if v.get("score") is not None and v.get("weight", 0) > 0]
    weight = sum(v["weight"] for v in have)
    if not have or weight <= 0:
        return None
    return round(sum(v["score"] * v["weight"] for v in have) / weight, 1)


def appraised(round_: AppraisalRound) -> list[User]:
    """Active people inside the round's organisation who hold an enforcement or leading role."""
    org = db.session.get(Organisation, round_.org_id)
    stmt = (
        select(User)
        .join(Organisation, Organisation.id == User.org_id)
        .where(
            User.status == "active",
            User.service_account.is_(False),
            Organisation.kind.in_(STAFF_ORG_KINDS),
            Organisation.path.startswith(org.path, autoescape=True),
        )
        .order_by(User.id)
    )
    return [u for u in db.session.scalars(stmt).unique() if u.role_codes & STAFF_ROLES]


def reviewer_scores(round_id: int) -> dict[int, float]:
    """The mean reviewer score per person."""
    sums: dict[int, list[float]] = defaultdict(list)
    for user_id, score in db.session.execute(
        select(AppraisalReview.user_id, AppraisalReview.score).where(AppraisalReview.round_id == round_id)
    ):
        sums[user_id].append(score)
    return {uid: round(sum(v) / len(v), 1) for uid, v in sums.items()}


def evaluate(scheme: AppraisalScheme, user_ids: list[int], period: str, reviews: dict[int, float], report=None):
    """{user id: values} for the scheme's items over the period."""
    start, end = period_bounds(scheme.period_type, period)
    fetched: dict[str, dict[int, float]] = {}
    zero_default: set[str] = set()
    items = list(scheme.items)
    for n, item in enumerate(items, 1):
        if item.source == sources.REVIEWER:
            fetched[item.source] = reviews
        elif item.source not in fetched:
            src = sources.get(item.source)
            fetched[item.source] = src.fn(user_ids, start, end) if src else {}
            if src is not None and src.counts:
                zero_default.add(item.source)
        if report:
            report(5 + int(60 * n / max(len(items), 1)), f"已读取第 {n} / {len(items)} 项数据：{item.name}")
    out = {}
    for uid in user_ids:
        values = {}
        for item in items:
            value = fetched[item.source].get(uid, 0.0 if item.source in zero_default else None)
            values[str(item.id)] = {
                "name": item.name,
                "value": value,
                "score": None if value is None else item_score(value, item.full, item.zero),
                "weight": item.weight,
            }
        out[uid] = values
    return out


def compute_round(round_: AppraisalRound, report=None) -> int:
    """(Re)compute every result of the round from the data and the reviewer scores entered so far."""
    scheme = round_.scheme
    people = appraised(round_)
    if report:
        report(3, f"共 {len(people)} 人参加考核")
    held = {
        r.user_id: r for r in db.session.scalars(select(AppraisalResult).where(AppraisalResult.round_id == round_.id))
    }
    reviews = reviewer_scores(round_.id)
    list(scheme.items)  # the scheme as the primary has it; the data items' figures are pure reads (the replica)
    with replica_reads():
        values = evaluate(scheme, [u.id for u in people], round_.period, reviews, report)
    now = utcnow()
    reviewer_items = {str(i.id) for i in scheme.items if i.source == sources.REVIEWER}
    staff, leaders = [], []
    for user in people:
        row = held.get(user.id)
        if row is None:
            row = AppraisalResult(round_id=round_.id, user_id=user.id, org_id=user.org_id)
            db.session.add(row)
        row.kind = "leader" if user.is_leader else "staff"
        row.values = values[user.id]
        row.data_total = weighted({k: v for k, v in row.values.items() if k not in reviewer_items})
        row.total = weighted(row.values)
        row.computed_at = now
        (leaders if user.is_leader else staff).append((user, row))
    if report:
        report(75, "正在生成负责人考核结果")
    generate_leaders(scheme, staff, leaders)
    for row in (r for _u, r in staff + leaders):
        row.grade = grade_of(row.final_total)
    rank(staff)
    rank(leaders)
    round_.computed_at = now
    db.session.flush()
    if report:
        report(95, f"已计算 {len(people)} 人")
    return len(people)


def generate_leaders(scheme: AppraisalScheme, staff: list, leaders: list) -> None:
    """负责人考核生成: a leader's total is the average of their unit's staff (the subtree of their
    organisation) weighted `leader_unit_weight`, plus their own items for the rest; either alone when the
    other is missing."""
    paths = {o.id: o.path for o in db.session.scalars(select(Organisation))}
    for user, row in leaders:
        path = paths[user.org_id]
        unit = [r.final_total for u, r in staff if paths[u.org_id].startswith(path) and r.final_total is not None]
        unit_avg = round(sum(unit) / len(unit), 1) if unit else None
        own = row.total
        w = scheme.leader_unit_weight
        if unit_avg is not None and own is not None:
            total = round(w * unit_avg + (1 - w) * own, 1)
        else:
            total = unit_avg if unit_avg is not None else own
        row.values = {
            **row.values,
            "unit": {"name": "所属单位人员平均分", "value": unit_avg, "score": unit_avg, "count": len(unit)},
        }
        row.total = total


def rank(pairs: list) -> None:
    ordered = sorted((r for _u, r in pairs if r.final_total is not None), key=lambda r: -r.final_total)
    last, place = None, 0
    for i, row in enumerate(ordered, 1):
        if row.final_total != last:
            place, last = i, row.final_total
        row.rank = place
    for _u, row in pairs:
        if row.final_total is None:
            row.rank = None


def compute_job(report, round_id: int) -> dict:
    """Background job: compute the round with progress, then put it into the reviewers' inboxes."""
    from app.appraisal.process import start_review

    round_ = db.session.get(AppraisalRound, round_id)
    if round_ is None:
        return {"message": "考核轮次已删除"}
    n = compute_round(round_, report)
    if round_.instance_id is None:
        start_review(round_, actor=db.session.get(User, round_.created_by_id) if round_.created_by_id else None)
    return {"message": f"已计算 {n} 人，已下发评议打分待办", "url": f"/appraisal/rounds/{round_.id}"}
