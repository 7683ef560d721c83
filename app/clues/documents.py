"""The investigation order (调查单) and report (调查报告) of a clue: contexts from the clue and its
process data, rendered and stored through app.reports (SM3-digested, signed at review)."""

from __future__ import annotations

import re
from datetime import date

from app.clues.models import OUTCOMES, PRIORITIES, SOURCES, Clue
from app.enterprises.models import Enterprise
from app.extensions import db
from app.orgs.models import Organisation
from app.reports import services as reports
from app.reports.models import Document

_SPLIT = re.compile(r"[|｜]")
_NAMES = re.compile(r"[、，,;；\s]+")


def parse_hazards(text: str | None) -> list[dict]:
    """One hazard per line: 描述｜部位｜等级（一般/重大）｜整改要求｜整改期限 (later columns optional)."""
    out = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in _SPLIT.split(line)]
        if not parts or not parts[0]:
            continue
        parts += [""] * (5 - len(parts))
        deadline = None
        try:
            deadline = date.fromisoformat(parts[4]).isoformat() if parts[4] else None
        except ValueError:
            deadline = None
        out.append(
            {
                "description": parts[0],
                "location": parts[1] or None,
                "level": "重大" if "重大" in parts[2] else "一般",
                "rectification": parts[3] or None,
                "deadline": deadline,
            }
        )
    return out


def _names(text) -> list[str]:
    if isinstance(text, list):
        return [str(x) for x in text if str(x).strip()]
    return [n for n in _NAMES.split(str(text or "")) if n]


def _enterprise(clue: Clue) -> Enterprise | None:
    return db.session.get(Enterprise, clue.enterprise_id) if clue.enterprise_id else None


def _industry(enterprise: Enterprise | None) -> str | None:
    if enterprise is None or not enterprise.industry_code:
        return None
    from app.demo.reference import load_json

    names = {row["code"]: row["name"] for row in load_json("industries.json")}
    return names.get(enterprise.industry_code, enterprise.industry_code)


def _district_name(clue: Clue) -> str:
    org = clue.district_org
    return (org.short_name or org.name) if org else ""


def order_context(clue: Clue, data: dict, *, dispatch_to: Organisation, contact: str | None) -> dict:
    enterprise = _enterprise(clue)
    urgent = clue.priority == "urgent"
    deadline = clue.deadline
    return {
        "title": "线索调查单",
        "clue_no": clue.number,
        "source": f"{SOURCES.get(clue.source, clue.source)}渠道",
        "enterprise": clue.enterprise_name or "（未指明企业）",
        "credit_code": clue.credit_code,
        "address": (enterprise.address if enterprise else None) or "—",
        "district": _district_name(clue),
        "matter": clue.content,
        "deadline": deadline,
        "dispatch_to": dispatch_to.name,
        "recipient": dispatch_to.name,
        "requirements": [
            f"接单后{'1' if urgent else '2'}个工作日内赴现场核查，核实反映内容是否属实。",
            "对现场拍照取证，调取相关台账、记录，必要时制作询问笔录。",
            "发现重大事故隐患的，依法责令立即整改并同步报告总队。",
            f"优先级：{PRIORITIES.get(clue.priority or '', '普通')}。请于办理期限前在系统中反馈调查情况，"
            "调查报告经总队审核签发。",
        ]
        + ([f"研判意见：{data['judge_opinion']}"] if data.get("judge_opinion") else []),
        "contact": contact,
    }


def report_context(clue: Clue, data: dict) -> dict:
    enterprise = _enterprise(clue)
    outcome = OUTCOMES.get(data.get("verdict") or "", "")
    subject = clue.enterprise_name or f"{_district_name(clue)}线索"
    conclusion = data.get("conclusion") or ""
    return {
        "title": f"关于{subject}反映问题的调查报告",
        "recipient": None,
        "clue_no": clue.number,
        "enterprise": clue.enterprise_name or "（未指明企业）",
        "credit_code": clue.credit_code,
        "address": (enterprise.address if enterprise else None) or "—",
        "district": _district_name(clue),
        "legal_person": enterprise.legal_person if enterprise else None,
        "industry": _industry(enterprise),
        "investigators": _names(data.get("investigators")),
        "investigated_at": data.get("investigated_on"),
        "findings": data.get("findings") or "",
        "hazards": parse_hazards(data.get("hazards")),
        "measures": data.get("measures") or "",
        "conclusion": f"核查结论：{outcome}。\n{conclusion}" if outcome else conclusion,
        "reviewer_opinion": None,
        "reviewer": None,
        "reviewed_at": None,
        "copy_to": clue.handling_org.name if clue.handling_org else None,
    }


def store_order(clue: Clue, data: dict, *, dispatch_to: Organisation, actor, contact: str | None) -> Document:
    context = order_context(clue, data, dispatch_to=dispatch_to, contact=contact)
    return reports.store_document(
        kind="investigation_order",
        title=f"线索调查单（{clue.number}）",
        template="investigation_order.html",
        context=context,
        org_id=clue.district_org_id,
        created_by=actor,
        instance_id=clue.instance_id,
        business_key=clue.number,
        defer=True,  # rendered by the job worker: the officer's submit does not wait for the PDF
    )


def store_report(clue: Clue, data: dict, *, actor) -> Document:
    context = report_context(clue, data)
    return reports.store_document(
        kind="investigation_report",
        title=context["title"],
        template="investigation_report.html",
        context=context,
        org_id=clue.district_org_id,
        created_by=actor,
        instance_id=clue.instance_id,
        business_key=clue.number,
        defer=True,  # rendered by the job worker: the officer's submit does not wait for the PDF
    )


def documents_of(clue: Clue) -> list[Document]:
    from sqlalchemy import select

    if not clue.instance_id:
        return []
    return list(
        db.session.scalars(
            select(Document).where(Document.instance_id == clue.instance_id).order_by(Document.created_at, Document.id)
        )
    )
