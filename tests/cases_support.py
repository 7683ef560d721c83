"""Fixtures of the 案卷评查 tests: violation entries of the knowledge base, the deployed process, cases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.knowledge.models import KnowledgeEntry
from app.orgs.models import Organisation

LAW = "中华人民共和国安全生产法"
P97 = "责令限期改正，处十万元以下罚款；逾期未改正责令停产停业整顿，并处十万元以上二十万元以下罚款"
P94 = "责令限期改正，处二万元以上五万元以下罚款"

GOOD = {
    "number": "沪黄应急罚〔2026〕1号",
    "title": "某化工公司未开展安全培训案",
    "case_type": "general",
    "org": "310101",
    "unit_name": "上海某化工有限公司",
    "unit_code": "91310101MA1234567X",
    "unit_penalty": "50000",
    "person_name": "张某",
    "person_position": "总经理",
    "person_penalty": "15000",
    "violations": "T-97",
    "discovered_on": "2026-03-02",
    "filed_on": "2026-03-04",
    "investigated_on": "2026-03-10",
    "notified_on": "2026-04-01",
    "decided_on": "2026-04-20",
    "served_on": "2026-04-22",
    "executed_on": "",
    "closed_on": "",
}


def make_entries() -> dict[str, KnowledgeEntry]:
    city = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ"))
    out = {}
    for code, article, penalty in (("T-97", "第九十七条", P97), ("T-94", "第九十四条", P94)):
        e = KnowledgeEntry(
            library="violation",
            code=code,
            title=f"测试违法行为{article}",
            status="published",
            org_id=city.id,
            fields={"law": LAW, "article": article, "penalty_range": penalty},
        )
        db.session.add(e)
        out[code] = e
    db.session.flush()
    return out


def deploy_review() -> None:
    """Deploy workflows/case_review.bpmn and publish the default checklists (inside an app context)."""
    from flask import current_app

    from app.cases.review import ensure_defaults
    from app.engine import deploy

    deploy.deploy(deploy.sources_from_files(Path(current_app.config["WORKFLOWS_DIR"]) / "case_review.bpmn"))
    ensure_defaults()
    db.session.commit()
