"""Entries of the three libraries: create and edit (a version per change), the search index, relations,
review (draft → review → published through the knowledge_review process), diffs of versions.

Services take the acting user and flush; the route commits.
"""

from __future__ import annotations

import difflib
import re

import nh3
from sqlalchemy import delete, select

from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.knowledge import textsearch as ts
from app.knowledge.models import (
    LIBRARIES,
    KnowledgeEntry,
    KnowledgeIndustry,
    KnowledgeRelation,
    KnowledgeSearch,
    KnowledgeVersion,
)
from app.models_base import utcnow
from app.security.scope import scope_for

PROCESS_ID = "knowledge_review"
# library -> [(key, label, kind)] of its own fields; kind "tiers" is the 裁量基准 table, "html" rich text.
FIELDS = {
    "violation": [
        ("law", "法律法规", "text"),
        ("article", "条款", "text"),
        ("clause", "项", "text"),
        ("description", "违法行为描述", "textarea"),
        ("penalty_range", "处罚幅度", "textarea"),
        ("tiers", "裁量基准", "tiers"),
        ("related_laws", "相关法律法规", "textarea"),
    ],
    "case": [
        ("facts", "案情事实", "textarea"),
        ("legal_basis", "法律依据", "text"),
        ("penalty", "处罚结果", "textarea"),
    ],
    "guide": [("topic", "主题", "text"), ("html", "正文", "html")],
}
TIER_LEVELS = ("轻微", "一般", "较重", "严重")
HTML_TAGS = {"h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "b", "i", "br", "table", "tr", "td", "th"}
EDITABLE = ("draft",)


def field_labels(library: str) -> dict[str, str]:
    return {k: label for k, label, _ in FIELDS.get(library, [])}


def sanitize_html(html: str) -> str:
    """Rich text of a guide: headings, paragraphs, lists, tables; no scripts, styles, links or attributes."""
    return nh3.clean(html or "", tags=HTML_TAGS, attributes={}, link_rel=None, strip_comments=True)


def plain_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or "")).strip()


def parse_tiers(raw) -> list[dict]:
    """Tiers from a form (lines "等级｜情形｜处罚") or a list of dicts; each checked."""
    if isinstance(raw, list):
        items = raw
    else:
        items = []
        for n, line in enumerate((raw or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in re.split(r"[｜|]", line)]
            if len(parts) != 3 or not all(parts):
                raise ValidationFailed(
                    f"裁量基准第 {n} 行格式不对", errors={"tiers": f"第 {n} 行应为：等级｜情形｜处罚（用｜分隔三项）"}
                )
            items.append({"level": parts[0], "circumstance": parts[1], "penalty": parts[2]})
    for n, t in enumerate(items, start=1):
        if t.get("level") not in TIER_LEVELS:
            raise ValidationFailed(
                f"裁量基准第 {n} 行的等级无效", errors={"tiers": f"第 {n} 行等级应为：{'、'.join(TIER_LEVELS)}"}
            )
    return [{"level": t["level"], "circumstance": t["circumstance"], "penalty": t["penalty"]} for t in items]


def _split(raw) -> list[str]:
    if isinstance(raw, list):
        return [str(x).strip() for x in raw if str(x).strip()]
    return [x for x in (p.strip() for p in re.split(r"[,，、;；\s]+", raw or "")) if x]


def clean_data(library: str, data: dict) -> dict:
    """Check a form (or an import row) and return the values to store; a Chinese error per field."""
    from app.enterprises.reference import industries

    if library not in LIBRARIES:
        raise ValidationFailed("知识库类别无效", errors={"library": "应为违法行为库、典型案例库或合规指引"})
    errors = {}
    title = (data.get("title") or "").strip()
    if len(title) < 4 or len(title) > 200:
        errors["title"] = "标题应为 4–200 个字"
    fields = {}
    for key, _label, kind in FIELDS[library]:
        value = data.get(key)
        if kind == "tiers":
            try:
                fields[key] = parse_tiers(value)
            except ValidationFailed as exc:
                errors.update(exc.errors)
        elif kind == "html":
            fields[key] = sanitize_html(value or "")
        else:
            fields[key] = (value or "").strip() if isinstance(value, str) else (value or "")
    required = {"violation": ("law", "article", "description"), "case": ("facts",), "guide": ("topic", "html")}
    for key in required[library]:
        if not fields.get(key) or (key == "html" and not plain_text(fields[key])):
            errors[key] = "必填，不能为空"
    inds = _split(data.get("industries"))
    names = industries()
    by_name = {v: k for k, v in names.items()}
    codes = []
    for x in inds:
        code = x if x in names else by_name.get(x)
        if code is None:
            errors["industries"] = f"行业「{x}」不存在"
        elif code not in codes:
            codes.append(code)
    year = str(data.get("year") or "").strip()
    if year and (not year.isdigit() or not 1990 <= int(year) <= 2100):
        errors["year"] = "年份应为 1990–2100 的四位数字"
    if errors:
        raise ValidationFailed("请按提示修改后再保存", errors=errors)
    return {
        "title": title,
        "summary": (data.get("summary") or "").strip(),
        "fields": fields,
        "industries": codes,
        "tags": _split(data.get("tags"))[:20],
        "district_code": (data.get("district_code") or "").strip() or None,
        "year": int(year) if year else None,
        "code": (data.get("code") or "").strip() or None,
    }


def snapshot(entry: KnowledgeEntry) -> dict:
    return {
        "title": entry.title,
        "summary": entry.summary,
        "fields": entry.fields,
        "industries": entry.industries,
        "tags": entry.tags,
        "district_code": entry.district_code,
        "year": entry.year,
    }


def search_text(entry: KnowledgeEntry) -> str:
    from app.enterprises.reference import industry_name

    f = entry.fields or {}
    parts = [entry.summary or "", " ".join(entry.tags or []), " ".join(industry_name(c) for c in entry.industries)]
    for key, _label, kind in FIELDS.get(entry.library, []):
        value = f.get(key)
        if kind == "tiers":
            parts += [f"{t['circumstance']} {t['penalty']}" for t in value or []]
        elif kind == "html":
            parts.append(plain_text(value or ""))
        elif value:
            parts.append(str(value))
    return "\n".join(parts)


def reindex(entry: KnowledgeEntry, *, new: bool = False) -> None:
    """Tokens and industry rows of an entry (``new``: it has none yet, so nothing is read or deleted)."""
    tokens = ts.index_tokens(entry.title, search_text(entry))
    head = ts.head_of(tokens)
    row = None if new else db.session.get(KnowledgeSearch, entry.id)
    if row is None:
        db.session.add(KnowledgeSearch(entry_id=entry.id, tokens=tokens, head=head))
    elif row.tokens != tokens:
        row.tokens, row.head = tokens, head
    if not new:
        db.session.execute(delete(KnowledgeIndustry).where(KnowledgeIndustry.entry_id == entry.id))
    for code in entry.industries or []:
        db.session.add(KnowledgeIndustry(entry_id=entry.id, industry=code))


def _record_version(entry: KnowledgeEntry, actor, note: str) -> KnowledgeVersion:
    version = KnowledgeVersion(
        entry_id=entry.id, number=entry.version, snapshot=snapshot(entry), note=note[:300], changed_by_id=actor.id
    )
    db.session.add(version)
    return version


def check_edit(entry: KnowledgeEntry | None, actor, org=None) -> None:
    if not actor.can("knowledge.edit"):
        raise PermissionDenied("您没有维护知识库的权限")
    target = entry.org if entry is not None else org
    if target is not None and not scope_for(actor).contains(target):
        raise PermissionDenied("该条目不在您的数据范围内")


def create_entry(actor, library: str, data: dict, *, status: str = "draft", note: str = "新建") -> KnowledgeEntry:
    check_edit(None, actor, actor.org)
    values = clean_data(library, data)
    if values["code"] and db.session.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.code == values["code"])):
        raise ValidationFailed(f"编号「{values['code']}」已存在", errors={"code": "编号重复"})
    entry = KnowledgeEntry(
        library=library, status=status, org_id=actor.org.id, created_by_id=actor.id, updated_by_id=actor.id, **values
    )
    if status == "published":
        entry.published_at = utcnow()
    db.session.add(entry)
    db.session.flush()
    _record_version(entry, actor, note)
    reindex(entry, new=True)
    return entry


def update_entry(entry: KnowledgeEntry, actor, data: dict, *, note: str = "") -> KnowledgeEntry:
    """Edit an entry. A published entry becomes a new draft version (published again after review)."""
    check_edit(entry, actor)
    if entry.status == "review":
        raise Conflict("条目正在审核中，审核结束后才能修改")
    values = clean_data(entry.library, {**data, "code": entry.code})
    values.pop("code")
    if all(getattr(entry, k) == v for k, v in values.items()):
        return entry
    for k, v in values.items():
        setattr(entry, k, v)
    entry.version += 1
    entry.status = "draft"
    entry.updated_by_id, entry.updated_at = actor.id, utcnow()
    db.session.flush()
    _record_version(entry, actor, note or "修改")
    reindex(entry)
    return entry


def set_relations(entry: KnowledgeEntry, actor, related_ids: list[int]) -> None:
    check_edit(entry, actor)
    db.session.execute(delete(KnowledgeRelation).where(KnowledgeRelation.entry_id == entry.id))
    for rid in dict.fromkeys(related_ids):
        if rid != entry.id and db.session.get(KnowledgeEntry, rid) is not None:
            db.session.add(KnowledgeRelation(entry_id=entry.id, related_id=rid))


def related(entry: KnowledgeEntry) -> list[KnowledgeEntry]:
    ids = select(KnowledgeRelation.related_id).where(KnowledgeRelation.entry_id == entry.id)
    back = select(KnowledgeRelation.entry_id).where(KnowledgeRelation.related_id == entry.id)
    return list(
        db.session.scalars(
            select(KnowledgeEntry).where(KnowledgeEntry.id.in_(ids.union(back))).order_by(KnowledgeEntry.id)
        )
    )


def get_entry(entry_id: int, actor) -> KnowledgeEntry:
    entry = db.session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise NotFound("知识条目不存在")
    if entry.status != "published" and not scope_for(actor).contains(entry.org):
        raise PermissionDenied("该条目尚未发布，且不在您的数据范围内")
    return entry


def versions(entry: KnowledgeEntry) -> list[KnowledgeVersion]:
    return list(
        db.session.scalars(
            select(KnowledgeVersion).where(KnowledgeVersion.entry_id == entry.id).order_by(KnowledgeVersion.number)
        )
    )


def _lines(library: str, snap: dict) -> list[str]:
    from app.enterprises.reference import industry_name

    lines = [f"标题：{snap.get('title', '')}", f"摘要：{snap.get('summary', '')}"]
    labels = field_labels(library)
    for key, value in (snap.get("fields") or {}).items():
        if key == "tiers":
            lines += [f"裁量基准：{t['level']}｜{t['circumstance']}｜{t['penalty']}" for t in value or []]
        elif key == "html":
            lines += [f"正文：{x}" for x in re.split(r"(?<=>)\s*(?=<)", value or "") if x]
        else:
            lines.append(f"{labels.get(key, key)}：{value}")
    lines.append("行业：" + "、".join(industry_name(c) for c in snap.get("industries") or []))
    lines.append("标签：" + "、".join(snap.get("tags") or []))
    lines.append(f"年份：{snap.get('year') or ''}")
    return lines


def diff_table(entry: KnowledgeEntry, a: int, b: int) -> str:
    """A side-by-side HTML table of two versions (difflib escapes the text)."""
    found = {v.number: v for v in versions(entry) if v.number in (a, b)}
    if a not in found or b not in found:
        raise NotFound("版本不存在")
    left, right = _lines(entry.library, found[a].snapshot), _lines(entry.library, found[b].snapshot)
    table = difflib.HtmlDiff(wrapcolumn=48).make_table(left, right, f"第 {a} 版", f"第 {b} 版", context=False)
    return table.replace(' nowrap="nowrap"', "")


# ---------------------------------------------------------------------------------------------
# review


def submit(entry: KnowledgeEntry, actor, note: str = "") -> None:
    """提交审核: starts knowledge_review in the reviewers' inbox."""
    from app.engine import runtime

    check_edit(entry, actor)
    if entry.status != "draft":
        raise Conflict(f"只有草稿可以提交审核（当前：{entry.status_label}）")
    entry.status, entry.return_reason = "review", None
    data = {
        "entry_id": entry.id,
        "subject": f"知识库审核：{entry.title}",
        "library_name": entry.library_label,
        "entry_title": entry.title,
        "entry_summary": entry.summary or "",
        "entry_version": f"第 {entry.version} 版",
        "change_note": note or "",
        "entry_url": f"/knowledge/entries/{entry.id}",
    }
    instance = runtime.start(
        PROCESS_ID,
        actor=actor,
        org=entry.org,
        data=data,
        business_key=f"knowledge:{entry.id}:{entry.version}",
        entry="knowledge_page",
    )
    entry.instance_id = instance.id
