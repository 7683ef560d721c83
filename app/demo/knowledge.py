"""Demo data of 知识智库: violation entries built from a compact table of real penalty articles of the
安全生产法 (2021 revision; summaries in our own words) crossed with industries and 裁量基准 tiers, plus
typical cases and compliance guides. Idempotent: entries are keyed by their code."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.knowledge.models import KnowledgeEntry, KnowledgeSynonym, KnowledgeVersion
from app.knowledge.services import reindex, snapshot

LAW = "中华人民共和国安全生产法"
SH = "上海市安全生产条例"
SH_RELATED = f"《{SH}》第四条（生产经营单位是安全生产的责任主体，主要负责人全面负责）"

# (article, clause, short title, our summary, penalty range, tags): the law's penalty articles, summarised.
ARTICLES_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "law_articles.tsv"
ARTICLES = [
    tuple(line.split("\t"))
    for line in ARTICLES_FILE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]

# industry code -> (short name, an industry-specific circumstance)
INDUSTRIES = [
    ("HG", "危险化学品", "储罐区、装卸区"),
    ("YXKJ", "有限空间作业", "污水池、地下室等有限空间"),
    ("FCSB", "粉尘涉爆", "除尘系统和粉尘作业区"),
    ("SALD", "涉氨制冷", "液氨制冷机房和冷库"),
    ("JZSG", "建筑施工", "施工现场"),
    ("CCWL", "仓储物流", "仓库和装卸作业区"),
    ("JX", "机械", "机加工车间"),
    ("SM", "商贸", "门店和仓储场所"),
]
TIERS = [
    ("轻微", "首次发现，立即改正且未造成危害后果", "责令改正，可依法从轻或不予处罚"),
    ("一般", "限期内改正，涉及人员或设备较少", "在处罚幅度内较低档次处罚"),
    ("较重", "逾期未改正，或涉及多个场所、多名从业人员", "在处罚幅度内中高档次处罚"),
    ("严重", "拒不改正、造成事故或被多次查处", "在处罚幅度内从重处罚，依法责令停产停业整顿"),
]
DISTRICTS = ["310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113", "310115"]
GUIDE_TOPICS = [
    "安全生产责任制建立",
    "安全生产教育培训",
    "事故隐患排查治理",
    "应急预案编制与演练",
    "危险作业现场管理",
    "承包出租安全管理",
]
SYNONYMS = [
    "动火作业，明火作业，热工作业",
    "有限空间，受限空间，密闭空间",
    "安全生产教育和培训，安全培训，三级安全教育",
]


def _tiers(industry_hint: str) -> list[dict]:
    return [{"level": lvl, "circumstance": f"{industry_hint}：{c}", "penalty": p} for lvl, c, p in TIERS]


def _add(author, code: str, library: str, **values) -> KnowledgeEntry | None:
    if db.session.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.code == code)):
        return None
    entry = KnowledgeEntry(
        code=code,
        library=library,
        status="published",
        org_id=author.org_id,
        created_by_id=author.id,
        updated_by_id=author.id,
        **values,
    )
    db.session.add(entry)
    db.session.flush()
    db.session.add(
        KnowledgeVersion(
            entry_id=entry.id, number=1, snapshot=snapshot(entry), note="初始导入", changed_by_id=author.id
        )
    )
    reindex(entry, new=True)
    return entry


def seed_knowledge(author) -> int:
    """Published entries: 8 × 41 violations, 50 cases, 30 guides; three synonym groups."""
    from app.models_base import utcnow

    added = 0
    for words in SYNONYMS:
        if not db.session.scalar(select(KnowledgeSynonym.id).where(KnowledgeSynonym.words == words)):
            db.session.add(KnowledgeSynonym(words=words))
    for i, (ind_code, ind_name, place) in enumerate(INDUSTRIES):
        for j, (article, clause, title, summary, penalty, tags) in enumerate(ARTICLES):
            e = _add(
                author,
                f"WF-{i + 1:02d}{j + 1:03d}",
                "violation",
                title=f"{ind_name}：{title}",
                summary=f"{ind_name}企业{place}{summary}。",
                fields={
                    "law": LAW,
                    "article": article,
                    "clause": clause,
                    "description": f"{summary}（{ind_name}行业常见于{place}）",
                    "penalty_range": penalty,
                    "tiers": _tiers(ind_name),
                    "related_laws": SH_RELATED,
                },
                industries=[ind_code],
                tags=tags.split(","),
                published_at=utcnow(),
            )
            added += e is not None
    rng = random.Random(17)
    for n in range(50):
        article, clause, title, summary, penalty, tags = ARTICLES[n % len(ARTICLES)]
        ind_code, ind_name, place = INDUSTRIES[n % len(INDUSTRIES)]
        district = DISTRICTS[n % len(DISTRICTS)]
        year = 2021 + n % 5
        fine = rng.choice((1, 2, 3, 5, 8, 10))
        e = _add(
            author,
            f"AL-{n + 1:03d}",
            "case",
            title=f"某{ind_name}企业{title}案",
            summary=f"执法检查发现该企业{place}{summary}，依法予以处罚。",
            fields={
                "facts": f"{year} 年执法人员检查时发现，当事人{place}{summary}，现场制作了检查记录并调取相关资料。",
                "legal_basis": f"《{LAW}》{article}{clause}",
                "penalty": f"责令限期改正，罚款人民币 {fine} 万元。",
            },
            industries=[ind_code],
            tags=[*tags.split(","), "典型案例"],
            district_code=district,
            year=year,
            published_at=utcnow(),
        )
        added += e is not None
    for n in range(30):
        ind_code, ind_name, place = INDUSTRIES[n % len(INDUSTRIES)]
        topic = GUIDE_TOPICS[n % len(GUIDE_TOPICS)]
        html = (
            f"<h2>一、适用范围</h2><p>适用于{ind_name}企业的{topic}工作，重点关注{place}。</p>"
            f"<h2>二、基本要求</h2><ul><li>明确主要负责人和安全生产管理人员的职责。</li>"
            f"<li>建立{topic}台账，如实记录。</li><li>对照《{LAW}》和《{SH}》的规定逐项自查。</li></ul>"
            f"<h2>三、常见问题</h2><p>检查中常见记录不全、责任不落实、整改不闭环等问题。</p>"
        )
        e = _add(
            author,
            f"ZY-{n + 1:03d}",
            "guide",
            title=f"{ind_name}企业{topic}合规指引",
            summary=f"面向{ind_name}企业的{topic}要点和自查清单。",
            fields={"topic": topic, "html": html},
            industries=[ind_code],
            tags=[topic, "合规指引"],
            published_at=utcnow(),
        )
        added += e is not None
    db.session.flush()
    return added
