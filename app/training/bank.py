"""Question bank (题库): checks, create/edit, queries, and the XLSX columns for import and export."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.errors import ValidationFailed
from app.extensions import db
from app.tabular.export import Column
from app.tabular.imports import ImportColumn
from app.training.models import DIFFICULTY, OPTION_LETTERS, QTYPES, Question

LETTERS = OPTION_LETTERS
TYPE_BY_LABEL = {v: k for k, v in QTYPES.items()} | {"单选题": "single", "多选题": "multi", "判断题": "judge"}
DIFFICULTY_BY_LABEL = {v: k for k, v in DIFFICULTY.items()} | {"1": 1, "2": 2, "3": 3, "容易": 1, "中等": 2, "困难": 3}
JUDGE_VALUES = {
    "对": "T",
    "正确": "T",
    "√": "T",
    "T": "T",
    "是": "T",
    "错": "F",
    "错误": "F",
    "×": "F",
    "F": "F",
    "否": "F",
}


def clean_choice(text: str) -> str:
    """'a, c' / 'AC' / 'A、C' -> 'AC' (sorted, unique)."""
    return "".join(sorted(set(re.sub(r"[\s,，、;；]", "", str(text or "")).upper())))


def check(values: dict) -> dict:
    """Validate a question's fields (from a form or an XLSX row); a ValidationFailed names each bad field."""
    errors: dict[str, str] = {}
    qtype = values.get("qtype") or ""
    qtype = TYPE_BY_LABEL.get(qtype, qtype)
    if qtype not in QTYPES:
        errors["qtype"] = "题型应为 单选、多选、判断 或 案例分析"
    stem = (values.get("stem") or "").strip()
    if len(stem) < 5:
        errors["stem"] = "题干不能少于 5 个字"
    elif len(stem) > 4000:
        errors["stem"] = "题干不能超过 4000 个字"
    options = [str(o).strip() for o in values.get("options") or []]
    while options and not options[-1]:
        options.pop()
    answer = str(values.get("answer") or "").strip()
    if qtype in ("single", "multi"):
        if len(options) < 2 or any(not o for o in options):
            errors["options"] = "选择题至少需要 A、B 两个选项，且选项之间不能留空"
        letters = clean_choice(answer)
        allowed = LETTERS[: len(options)]
        if not letters or any(ch not in allowed for ch in letters):
            errors["answer"] = f"答案应为选项字母（{allowed or 'A-F'} 之内）"
        elif qtype == "single" and len(letters) != 1:
            errors["answer"] = "单选题只能有一个正确答案"
        elif qtype == "multi" and len(letters) < 2:
            errors["answer"] = "多选题至少有两个正确答案"
        answer = letters
    elif qtype == "judge":
        options = []
        if answer not in JUDGE_VALUES:
            errors["answer"] = "判断题答案应为“对”或“错”"
        answer = JUDGE_VALUES.get(answer, "")
    elif qtype == "case":
        options = []
        if len(answer) < 5:
            errors["answer"] = "案例分析题须填写参考答案（评分要点），不少于 5 个字"
    law = (values.get("law") or "").strip()
    if not law:
        errors["law"] = "请填写所属法规"
    difficulty = values.get("difficulty")
    difficulty = DIFFICULTY_BY_LABEL.get(str(difficulty or "中").strip(), None)
    if difficulty is None:
        errors["difficulty"] = "难度应为 易、中 或 难"
    if errors:
        raise ValidationFailed("题目填写有误：" + "；".join(errors.values()), errors=errors)
    return {
        "qtype": qtype,
        "stem": stem,
        "options": options,
        "answer": answer,
        "explanation": (values.get("explanation") or "").strip(),
        "law": law[:100],
        "industry": (values.get("industry") or "").strip()[:40] or "通用",
        "difficulty": difficulty,
    }


def save_question(actor, values: dict, question: Question | None = None) -> Question:
    data = check(values)
    dup = db.session.scalar(
        select(Question.id).where(Question.stem == data["stem"], Question.qtype == data["qtype"], Question.active)
    )
    if dup and (question is None or dup != question.id):
        raise ValidationFailed("题库中已有相同题干的题目", errors={"stem": f"与已有题目（编号 {dup}）题干相同"})
    if question is None:
        question = Question(created_by_id=getattr(actor, "id", None))
        db.session.add(question)
    for key, value in data.items():
        setattr(question, key, value)
    db.session.flush()
    return question


def set_active(actor, question_id: int, active: bool) -> Question:
    """停用/启用: a disabled question is no longer drawn into papers or practice; papers keep theirs."""
    from app.errors import NotFound

    question = db.session.get(Question, question_id)
    if question is None:
        raise NotFound("题目不存在")
    if active and db.session.scalar(
        select(Question.id).where(
            Question.stem == question.stem,
            Question.qtype == question.qtype,
            Question.active,
            Question.id != question.id,
        )
    ):
        raise ValidationFailed("题库中已有相同题干的启用题目，不能再启用这道题")
    question.active = active
    db.session.flush()
    return question


def query(*, qtype: str = "", law: str = "", industry: str = "", difficulty: int | None = None, keyword: str = ""):
    stmt = select(Question).where(Question.active.is_(True))
    if qtype:
        stmt = stmt.where(Question.qtype == qtype)
    if law:
        stmt = stmt.where(Question.law == law)
    if industry:
        stmt = stmt.where(Question.industry == industry)
    if difficulty:
        stmt = stmt.where(Question.difficulty == difficulty)
    if keyword:
        stmt = stmt.where(Question.stem.contains(keyword, autoescape=True))
    return stmt.order_by(Question.id)


def facets() -> dict:
    """The laws and industries in the bank with their counts (filters and the practice picker)."""
    laws = db.session.execute(
        select(Question.law, func.count()).where(Question.active).group_by(Question.law).order_by(Question.law)
    ).all()
    industries = db.session.execute(
        select(Question.industry, func.count())
        .where(Question.active)
        .group_by(Question.industry)
        .order_by(Question.industry)
    ).all()
    types = dict(
        db.session.execute(select(Question.qtype, func.count()).where(Question.active).group_by(Question.qtype)).all()
    )
    return {"laws": laws, "industries": industries, "types": types}


# --------------------------------------------------------------------------------------------- XLSX

IMPORT_COLUMNS = [
    ImportColumn("题型", "qtype", required=True),
    ImportColumn("题干", "stem", required=True),
    *[ImportColumn(f"选项{ch}", f"opt_{ch}") for ch in LETTERS],
    ImportColumn("答案", "answer", required=True, aliases=("正确答案", "参考答案")),
    ImportColumn("解析", "explanation"),
    ImportColumn("所属法规", "law", required=True, aliases=("法规",)),
    ImportColumn("行业", "industry"),
    ImportColumn("难度", "difficulty"),
]
IMPORT_EXAMPLE = [
    "单选",
    "生产经营单位的主要负责人是本单位安全生产的（　）。",
    "第一责任人",
    "直接责任人",
    "监督责任人",
    "间接责任人",
    "",
    "",
    "A",
    "《安全生产法》第五条：主要负责人是本单位安全生产第一责任人，对本单位的安全生产工作全面负责。",
    "中华人民共和国安全生产法",
    "通用",
    "易",
]


def import_row(actor, row: dict, seen: dict[str, int]) -> Question:
    """One XLSX row -> a question; a stem repeated inside the file names the first row."""
    values = {**row, "options": [row.get(f"opt_{ch}", "") for ch in LETTERS]}
    stem = (row.get("stem") or "").strip()
    if stem in seen:
        raise ValidationFailed(errors={"stem": f"与第 {seen[stem]} 行题干重复"})
    seen[stem] = row["_row"]
    return save_question(actor, values)


def _option(i: int):
    return lambda q: q.options[i] if i < len(q.options or []) else ""


def _answer_text(q: Question) -> str:
    if q.qtype == "judge":
        return "对" if q.answer == "T" else "错"
    return q.answer


EXPORT_COLUMNS = [
    Column("编号", "id", kind="number", width=8),
    Column("题型", lambda q: q.qtype_label, width=8),
    Column("题干", "stem", width=60),
    *[Column(f"选项{ch}", _option(i), width=20) for i, ch in enumerate(LETTERS)],
    Column("答案", _answer_text, width=30),
    Column("解析", "explanation", width=40),
    Column("所属法规", "law", width=24),
    Column("行业", "industry", width=12),
    Column("难度", lambda q: q.difficulty_label, width=6),
]
