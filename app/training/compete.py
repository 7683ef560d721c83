"""执法比武: rules, eligibility, a paper per candidate drawn from a recorded seed, the server-side clock,
autosave, one submission, auto-scoring.

Every function takes `now` (a timezone-aware datetime) so the clock is the caller's: routes pass
`utcnow()`, tests pass what they like. Services flush; the route commits.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.training.bank import clean_choice
from app.training.models import OPTION_LETTERS, QTYPES, Competition, Paper, PaperAnswer, Question

SHANGHAI = ZoneInfo("Asia/Shanghai")
GRACE_SECONDS = 5  # an autosave in flight when the clock runs out still counts


def local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def phase(comp: Competition, now: datetime) -> str:
    if now < comp.starts_at:
        return "未开始"
    if now > comp.ends_at:
        return "已结束"
    return "进行中"


# --------------------------------------------------------------------------------------------- rules


def _int(values: dict, key: str, label: str, errors: dict, lo: int = 0, hi: int = 1000) -> int:
    raw = str(values.get(key) or "0").strip()
    try:
        n = int(raw)
    except ValueError:
        errors[key] = f"{label}应为整数"
        return 0
    if not lo <= n <= hi:
        errors[key] = f"{label}应在 {lo}–{hi} 之间"
    return n


def _float(values: dict, key: str, label: str, errors: dict) -> float:
    try:
        n = float(str(values.get(key) or "0").strip())
    except ValueError:
        errors[key] = f"{label}应为数字"
        return 0.0
    if not 0 <= n <= 100:
        errors[key] = f"{label}应在 0–100 之间"
    return n


def _when(values: dict, key: str, label: str, errors: dict) -> datetime | None:
    raw = str(values.get(key) or "").strip()
    if isinstance(values.get(key), datetime):
        return values[key]
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=SHANGHAI)
    except ValueError:
        errors[key] = f"请填写{label}（日期和时间）"
        return None


def available(laws: list[str], qtype: str) -> int:
    stmt = select(func.count(Question.id)).where(Question.active, Question.qtype == qtype)
    if laws:
        stmt = stmt.where(Question.law.in_(laws))
    return db.session.scalar(stmt) or 0


def save_competition(actor, values: dict, comp: Competition | None = None) -> Competition:
    """Create or edit a competition's rules; refuses what the bank cannot supply."""
    errors: dict[str, str] = {}
    name = (values.get("name") or "").strip()
    if not 2 <= len(name) <= 120:
        errors["name"] = "请填写比武名称（2–120 字）"
    laws = [x for x in values.get("laws") or [] if x]
    counts, scores = {}, {}
    for t, label in QTYPES.items():
        counts[t] = _int(values, f"count_{t}", f"{label}题数", errors, 0, 200)
        scores[t] = _float(values, f"score_{t}", f"{label}每题分值", errors)
        if counts[t] and not scores[t] and f"score_{t}" not in errors:
            errors[f"score_{t}"] = f"{label}题有题数时每题分值不能为 0"
        if counts[t] and f"count_{t}" not in errors and available(laws, t) < counts[t]:
            errors[f"count_{t}"] = f"题库中符合条件的{label}题只有 {available(laws, t)} 道，少于 {counts[t]} 道"
    if not any(counts.values()) and not any(k.startswith("count_") for k in errors):
        errors["count_single"] = "至少设置一种题型的题数"
    minutes = _int(values, "time_limit_minutes", "答题时限（分钟）", errors, 1, 600)
    attempts = _int(values, "max_attempts", "可参加次数", errors, 1, 10)
    starts, ends = _when(values, "starts_at", "开始时间", errors), _when(values, "ends_at", "结束时间", errors)
    if starts and ends and ends <= starts:
        errors["ends_at"] = "结束时间应晚于开始时间"
    org_ids = [int(x) for x in values.get("eligible_org_ids") or [] if str(x).isdigit()]
    if org_ids and db.session.scalar(select(func.count()).where(Organisation.id.in_(org_ids))) != len(set(org_ids)):
        errors["eligible_org_ids"] = "参赛单位中有不存在的机构"
    markers = [x.strip() for x in str(values.get("marker_logins") or "").replace("，", ",").split(",") if x.strip()]
    if counts.get("case") and not markers:
        errors["marker_logins"] = "有案例分析题时须指定阅卷人（登录名，逗号分隔）"
    if counts.get("case") and "count_case" not in errors:
        from app.engine import deploy
        from app.errors import DomainError

        try:  # a paper with case questions goes to the markers through this process when it is submitted
            deploy.current_version("training_marking")
        except DomainError:
            errors["count_case"] = "「执法比武案例分析评阅」流程未部署或已停用，请先由流程管理员部署"
    if markers:
        from app.auth.models import User

        known = set(db.session.scalars(select(User.login).where(User.login.in_(markers))))
        unknown = [m for m in markers if m not in known]
        if unknown:
            errors["marker_logins"] = "未知的阅卷人：" + "、".join(unknown)
    if comp is not None and comp.id and db.session.scalar(select(func.count()).where(Paper.competition_id == comp.id)):
        errors["name"] = "已有人参加的比武不能再修改规则"
    if errors:
        raise ValidationFailed("比武规则填写有误：" + "；".join(errors.values()), errors=errors)
    if comp is None:
        comp = Competition(created_by_id=getattr(actor, "id", None), org_id=actor.org_id)
        db.session.add(comp)
    else:
        comp.version += 1
    shuffle = str(values.get("shuffle_options") or "").lower() in ("1", "on", "true", "y")
    comp.name, comp.laws = name, laws
    comp.rules = {"counts": counts, "scores": scores, "shuffle_options": shuffle}
    comp.time_limit_minutes, comp.max_attempts, comp.starts_at, comp.ends_at = minutes, attempts, starts, ends
    comp.eligible_org_ids, comp.marker_logins = sorted(set(org_ids)), markers
    db.session.flush()
    return comp


def eligible(comp: Competition, user) -> bool:
    if not comp.eligible_org_ids:
        return True
    orgs = db.session.scalars(select(Organisation).where(Organisation.id.in_(comp.eligible_org_ids)))
    return any(user.org.path.startswith(o.path) for o in orgs)


# --------------------------------------------------------------------------------------------- papers


def draw(comp: Competition, seed: int) -> list[int]:
    """The question ids of a paper: per type, a sample from the bank's ids in id order, driven by `seed`
    (the same seed and bank give the same paper)."""
    rng = random.Random(seed)
    ids: list[int] = []
    for qtype in QTYPES:
        n = comp.count(qtype)
        if not n:
            continue
        stmt = select(Question.id).where(Question.active, Question.qtype == qtype).order_by(Question.id)
        if comp.laws:
            stmt = stmt.where(Question.law.in_(comp.laws))
        pool = list(db.session.scalars(stmt))
        if len(pool) < n:
            raise ValidationFailed(f"题库中{QTYPES[qtype]}题不足 {n} 道，无法组卷，请联系比武管理员")
        ids += rng.sample(pool, n)
    return ids


def current_paper(comp: Competition, user) -> Paper | None:
    return db.session.scalar(
        select(Paper)
        .where(Paper.competition_id == comp.id, Paper.user_id == user.id)
        .order_by(Paper.attempt_no.desc())
        .limit(1)
    )


def start_or_resume(comp: Competition, user, now: datetime) -> Paper:
    """The candidate's open paper (resume after a lost connection or a closed tab), or a new one."""
    paper = current_paper(comp, user)
    if paper is not None and paper.status == "answering":
        if now <= paper.deadline_at + timedelta(seconds=GRACE_SECONDS):
            return paper
        submit(paper, user, now, note="超时自动交卷", expected_version=None)
    if not eligible(comp, user):
        raise PermissionDenied("您所在单位不在本次比武的参赛范围内")
    if now < comp.starts_at:
        raise Conflict(f"比武尚未开始，开始时间为 {local(comp.starts_at)}，届时才能获取试卷")
    if now > comp.ends_at:
        raise Conflict(f"比武已于 {local(comp.ends_at)} 结束，不能再获取试卷")
    attempt = (paper.attempt_no if paper else 0) + 1
    if attempt > comp.max_attempts:
        raise Conflict(f"本次比武每人可参加 {comp.max_attempts} 次，您已用完")
    seed = secrets.randbits(48)
    ids = draw(comp, seed)
    deadline = min(now + timedelta(minutes=comp.time_limit_minutes), comp.ends_at)
    paper = Paper(
        code="SJ" + secrets.token_hex(5).upper(),
        competition_id=comp.id,
        user_id=user.id,
        org_id=user.org_id,
        attempt_no=attempt,
        seed=seed,
        question_ids=ids,
        started_at=now,
        deadline_at=deadline,
    )
    db.session.add(paper)
    questions = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))}
    shuffle = random.Random(f"{seed}:options") if comp.shuffle_options else None
    for pos, qid in enumerate(ids, start=1):
        q = questions[qid]
        row = PaperAnswer(question_id=qid, position=pos, max_score=comp.score(q.qtype))
        if shuffle and q.qtype in ("single", "multi") and len(q.options or []) > 1:
            order = list(OPTION_LETTERS[: len(q.options)])
            shuffle.shuffle(order)  # stored: a resumed paper shows the same order, and scoring reads it
            row.option_order = "".join(order)
        paper.answers.append(row)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a second tab started the same attempt a moment earlier
        db.session.rollback()
        raise Conflict("试卷已在另一个窗口中生成，请刷新页面继续作答") from exc
    return paper


def load_paper(paper_id: int, user) -> Paper:
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        raise NotFound("试卷不存在")
    if paper.user_id != user.id:
        raise PermissionDenied("只能查看本人的试卷")
    return paper


def remaining_seconds(paper: Paper, now: datetime) -> int:
    return max(0, int((paper.deadline_at - now).total_seconds()))


def normalise(question: Question | str, response) -> str:
    qtype = question if isinstance(question, str) else question.qtype
    text = str(response or "").strip()
    if qtype in ("single", "multi"):
        return clean_choice(text)[: 6 if qtype == "multi" else 1]
    if qtype == "judge":
        return text if text in ("T", "F") else ""
    return text[:5000]


def save_answers(paper: Paper, user, answers: dict, now: datetime) -> int:
    """Autosave: store the responses given. After the clock has run out nothing is stored and the reason
    is given; the paper is submitted with what was saved before (on the next visit, or by the ranking)."""
    if paper.user_id != user.id:
        raise PermissionDenied("只能作答本人的试卷")
    if paper.status != "answering":
        raise Conflict(f"试卷已于 {local(paper.submitted_at)} 交卷（{paper.submit_note or '已交卷'}），不能再修改答案")
    if now > paper.deadline_at + timedelta(seconds=GRACE_SECONDS):
        raise Conflict(
            f"答题时间已于 {local(paper.deadline_at)} 截止，本次提交的答案未被接受；试卷将按截止前已保存的答案交卷"
        )
    if len(answers or {}) > len(paper.question_ids):
        raise ValidationFailed("提交的答案多于试卷题数")
    # Only the rows being saved, with their question's type (the hot path: one SELECT, no question texts).
    wanted = {int(k) for k in (answers or {}) if str(k).isdigit()}
    rows = db.session.execute(
        select(PaperAnswer, Question.qtype)
        .join(Question, Question.id == PaperAnswer.question_id)
        .where(PaperAnswer.paper_id == paper.id, PaperAnswer.question_id.in_(wanted))
        .options(lazyload(PaperAnswer.question))
    ).all()
    by_q = {row.question_id: (row, qtype) for row, qtype in rows}
    changed = 0
    for key, value in (answers or {}).items():
        found = by_q.get(int(key)) if str(key).isdigit() else None
        if found is None:
            raise ValidationFailed(f"第 {key} 题不属于这份试卷")
        row, qtype = found
        value = normalise(qtype, value)
        if value != (row.response or ""):
            row.response, row.saved_at = value, now
            changed += 1
    if changed:
        paper.version += 1
    db.session.flush()
    return changed


def score_objective(question: Question, response: str | None, max_score: float) -> tuple[bool, float]:
    """单选/判断: all or nothing; 多选: all right = full, a correct part without a wrong letter = half."""
    response = response or ""
    if question.qtype == "multi":
        if response == question.answer:
            return True, max_score
        if response and set(response) < set(question.answer):
            return False, round(max_score / 2, 2)
        return False, 0.0
    ok = response == question.answer
    return ok, max_score if ok else 0.0


def submit(paper: Paper, user, now: datetime, *, note: str = "手动交卷", expected_version: int | None = None) -> Paper:
    """交卷 exactly once: a conditional UPDATE on (status, version); a second tab gets a Conflict."""
    cond = [Paper.id == paper.id, Paper.status == "answering"]
    if expected_version is not None:
        cond.append(Paper.version == expected_version)
    done = db.session.execute(
        update(Paper)
        .where(*cond)
        .values(status="marking", submitted_at=min(now, paper.deadline_at), submit_note=note, version=Paper.version + 1)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.refresh(paper)
        if paper.status != "answering":
            raise Conflict(f"试卷已于 {local(paper.submitted_at)} 交卷，请勿重复提交")
        raise Conflict("答案已在另一个窗口中更新，请刷新页面核对后再交卷")
    db.session.refresh(paper)
    auto = 0.0
    has_case = False
    for row in paper.answers:
        if row.question.qtype == "case":
            has_case = True
            continue
        row.correct, row.score = score_objective(row.question, row.to_bank(row.response), row.max_score)
        auto += row.score
    paper.auto_score = round(auto, 2)
    if has_case:
        from app.training import marking

        marking.start_for(paper)
    else:
        paper.status, paper.manual_score, paper.total_score = "scored", 0.0, paper.auto_score
    db.session.flush()
    return paper


def expire_overdue(comp: Competition, now: datetime) -> int:
    """Submit the papers whose clock ran out while nobody was looking (the ranking and the job call it)."""
    late = list(
        db.session.scalars(
            select(Paper).where(
                Paper.competition_id == comp.id,
                Paper.status == "answering",
                Paper.deadline_at < now - timedelta(seconds=GRACE_SECONDS),
            )
        )
    )
    for paper in late:
        submit(paper, paper.user, now, note="超时自动交卷")
    return len(late)


def expire_all(now: datetime) -> int:
    """The scheduler-round job: submit every paper whose clock has run out, in every competition."""
    comp_ids = db.session.scalars(
        select(Paper.competition_id)
        .where(Paper.status == "answering", Paper.deadline_at < now - timedelta(seconds=GRACE_SECONDS))
        .distinct()
    ).all()
    return sum(expire_overdue(db.session.get(Competition, cid), now) for cid in comp_ids)
