"""知识智库: entries with versions and diffs, review through the inbox, data scope, rich text, attachments,
import/export, the picker, usage records and "有帮助"."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.inbox.models import HumanTask
from app.knowledge.models import KnowledgeEntry, KnowledgeUsage, KnowledgeVersion
from tests.conftest import page_text

VIOLATION = {
    "title": "未对动火作业安排专人现场安全管理",
    "summary": "动火作业现场无人监护",
    "law": "中华人民共和国安全生产法",
    "article": "第一百零一条",
    "clause": "第（三）项",
    "description": "进行动火作业未安排专门人员进行现场安全管理",
    "penalty_range": "责令限期改正，处十万元以下的罚款",
    "tiers": "一般｜首次发现并当场改正｜一万元以下罚款\n严重｜拒不改正｜五万元以上十万元以下罚款",
    "industries": ["HG"],
    "tags": "动火作业、现场监护",
}


@pytest.fixture
def deployed(app):
    from pathlib import Path

    from app.engine import deploy

    with app.app_context():
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "knowledge_review.bpmn"))
        db.session.commit()


def _entry(app, **where):
    with app.app_context():
        return db.session.scalar(select(KnowledgeEntry).filter_by(**where))


def _create(client, **over):
    resp = client.post("/knowledge/entries/new?library=violation", data={**VIOLATION, **over})
    assert resp.status_code == 302, page_text(resp)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def test_draft_versions_diff_review_and_scope(app, deployed, client_for):
    officer = client_for("hp_officer")
    # Bad input: the form comes back with a Chinese message and everything typed is kept.
    bad = officer.post("/knowledge/entries/new?library=violation", data={**VIOLATION, "tiers": "特别｜无｜无"})
    assert bad.status_code == 200 and "第 1 行等级应为" in page_text(bad) and VIOLATION["description"] in page_text(bad)
    entry_id = _create(officer)
    # A draft of 黄浦 is not visible to 徐汇 (data scope), but is to its own brigade.
    assert client_for("xh_officer").get(f"/knowledge/entries/{entry_id}").status_code == 403
    page = page_text(client_for("hp_leader").get(f"/knowledge/entries/{entry_id}"))
    assert "草稿" in page and "首次发现并当场改正" in page
    # An edit is a new version with who and when; the diff shows both sides.
    resp = officer.post(
        f"/knowledge/entries/{entry_id}/edit",
        data={**VIOLATION, "penalty_range": "处二十万元以下罚款", "note": "调整幅度"},
    )
    assert resp.status_code == 302
    with app.app_context():
        versions = db.session.scalars(select(KnowledgeVersion).where(KnowledgeVersion.entry_id == entry_id)).all()
        assert [v.number for v in versions] == [1, 2] and versions[1].note == "调整幅度"
        assert versions[1].changed_by.name == "黄浦队员"
    diff = page_text(officer.get(f"/knowledge/entries/{entry_id}/diff?a=1&b=2"))
    assert "第 1 版" in diff and "十万元以下的罚款" in diff and "二十万元以下罚款" in diff and "diff_chg" in diff
    # Submit: the reviewer (处室负责人) gets an inbox task; approving publishes the entry.
    assert officer.post(f"/knowledge/entries/{entry_id}/submit", data={"note": "请审核"}).status_code == 302
    assert _entry(app, id=entry_id).status == "review"
    assert officer.post(f"/knowledge/entries/{entry_id}/edit", data=VIOLATION).status_code == 409  # locked
    chief = client_for("chief")
    assert "知识库审核：未对动火作业安排专人现场安全管理" in page_text(chief.get("/inbox/"))
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == "review"))
    resp = chief.post(f"/inbox/tasks/{task_id}/act", data={"action": "approve", "comment": "同意"})
    assert resp.status_code == 302, page_text(resp)
    entry = _entry(app, id=entry_id)
    assert entry.status == "published" and entry.published_at is not None
    assert client_for("xh_officer").get(f"/knowledge/entries/{entry_id}").status_code == 200


def test_review_sent_back_returns_to_draft_with_the_reason(app, deployed, client_for):
    officer = client_for("hp_officer")
    entry_id = _create(officer)
    officer.post(f"/knowledge/entries/{entry_id}/submit")
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    resp = client_for("chief").post(f"/inbox/tasks/{task_id}/act", data={"action": "reject", "comment": "条款项号有误"})
    assert resp.status_code == 302, page_text(resp)
    entry = _entry(app, id=entry_id)
    assert entry.status == "draft" and entry.return_reason == "条款项号有误"
    assert "审核退回：条款项号有误" in page_text(officer.get(f"/knowledge/entries/{entry_id}"))


def test_guide_rich_text_is_sanitised(app, client_for):
    resp = client_for("city_officer").post(
        "/knowledge/entries/new?library=guide",
        data={
            "title": "动火作业合规指引",
            "topic": "动火作业",
            "html": '<h2>一、审批</h2><p onclick="x()">先审批<script>alert(1)</script></p>'
            '<a href="javascript:x">链接</a>',
        },
    )
    assert resp.status_code == 302
    html = _entry(app, title="动火作业合规指引").fields["html"]
    assert "<h2>一、审批</h2>" in html and "script" not in html and "onclick" not in html and "javascript" not in html


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEADER = ["编号", "标题", "摘要", "适用行业", "标签", "法律法规", "条款", "项", "违法行为描述", "处罚幅度", "裁量基准"]


def test_import_reports_rows_and_imports_nothing_on_error_then_all(app, client_for):
    officer = client_for("city_officer")
    good = [
        "WF-T1",
        "未设置安全警示标志",
        "",
        "危险化学品",
        "警示标志",
        "中华人民共和国安全生产法",
        "第九十九条",
        "第（一）项",
        "危险场所未设置明显的安全警示标志",
        "五万元以下罚款",
        "一般｜首次｜警告",
    ]
    bad_industry = ["WF-T5", "未设置安全警示标志二", "", "航天", *good[4:]]
    bad_tier = [
        "WF-T3",
        "劳动防护用品不合格",
        "",
        "",
        "",
        "中华人民共和国安全生产法",
        "第九十九条",
        "",
        "未提供合格防护用品",
        "",
        "特别｜无",
    ]
    missing = ["WF-T4", "缺条款", "", "", "", "中华人民共和国安全生产法", "", "", "描述", "", ""]
    data = _xlsx([HEADER, good, bad_industry, bad_tier, missing])
    resp = officer.post(
        "/knowledge/import",
        data={"library": "violation", "file": (io.BytesIO(data), "导入.xlsx")},
        content_type="multipart/form-data",
    )
    text = page_text(resp)
    assert resp.status_code == 422 and "整份文件未导入" in text
    assert (
        "第 3 行" in text
        and "行业「航天」不存在" in text
        and "第 4 行" in text
        and "第 5 行" in text
        and "条款" in text
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(KnowledgeEntry.id))) == 0  # nothing half-imported
    data = _xlsx([HEADER, good, ["WF-T2", "未提供劳动防护用品", *good[2:]]])
    resp = officer.post(
        "/knowledge/import",
        data={"library": "violation", "file": (io.BytesIO(data), "导入.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200 and "已导入 2 条" in page_text(resp)
    with app.app_context():
        assert db.session.scalar(select(func.count(KnowledgeEntry.id)).where(KnowledgeEntry.status == "draft")) == 2
    # Export (drafts inside the scope are included for their own unit).
    out = officer.get("/knowledge/export.xlsx")
    sheet = load_workbook(io.BytesIO(out.data)).active
    assert sheet.cell(1, 3).value == "标题" and {sheet.cell(r, 1).value for r in (2, 3)} == {"WF-T1", "WF-T2"}
    assert "一般｜首次｜警告" in sheet.cell(2, 8).value


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _docx() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>作业审批</w:t></w:r></w:p>'
            "<w:p><w:r><w:t>动火前应办理审批&lt;b&gt;</w:t></w:r></w:p></w:body></w:document>",
        )
    return buf.getvalue()


def test_attachments_preview_in_the_browser_and_refuse_other_types(app, client_for):
    officer = client_for("hp_officer")
    entry_id = _create(officer)

    def upload(data, name):
        return officer.post(
            f"/knowledge/entries/{entry_id}/attachments",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    assert upload(PDF, "处罚决定书.pdf").status_code == 302
    assert upload(_docx(), "指引.docx").status_code == 302
    refused = upload(b"MZ\x90\x00" + b"\x00" * 60, "程序.pdf")  # the name says PDF, the bytes do not
    assert refused.status_code in (302, 422) and "只能上传 PDF、Word 文档或图片" in page_text(
        officer.get(refused.headers.get("Location", f"/knowledge/entries/{entry_id}"))
        if refused.status_code == 302
        else refused
    )
    page = page_text(officer.get(f"/knowledge/entries/{entry_id}"))
    assert "处罚决定书.pdf" in page and "指引.docx" in page and "程序.pdf" not in page
    from app.knowledge.models import KnowledgeAttachment

    with app.app_context():
        pdf_id, docx_id = db.session.scalars(select(KnowledgeAttachment.id).order_by(KnowledgeAttachment.id)).all()
    inline = officer.get(f"/knowledge/attachments/{pdf_id}?inline=1")
    assert inline.status_code == 200 and inline.mimetype == "application/pdf"
    assert "attachment" not in inline.headers.get("Content-Disposition", "")
    inline.close()
    assert "<iframe" in officer.get(f"/knowledge/attachments/{pdf_id}/preview").get_data(as_text=True)
    preview = officer.get(f"/knowledge/attachments/{docx_id}/preview").get_data(as_text=True)
    assert "作业审批</h2>" in preview and "审批&lt;b&gt;" in preview  # the text is escaped, never HTML
    assert client_for("xh_officer").get(f"/knowledge/attachments/{pdf_id}").status_code == 403  # a draft elsewhere


def test_picker_suggests_top5_with_article_and_records_use_and_helpful(app, client_for):
    with app.app_context():
        from app.demo.knowledge import seed_knowledge
        from tests.conftest import user

        seed_knowledge(user("chief"))
        db.session.commit()
    officer = client_for("hp_officer")
    items = officer.get("/knowledge/suggest?q=现场发现有限空间作业无人监护，也未审批").get_json()["items"]
    assert 1 <= len(items) <= 5 and items[0]["article"].startswith("《中华人民共和国安全生产法》")
    assert any("危险作业未安排专门人员现场安全管理" in i["title"] for i in items)
    assert officer.get("/knowledge/suggest?q=a").get_json()["items"] == []
    entry_id = items[0]["id"]
    resp = officer.post(
        f"/knowledge/entries/{entry_id}/use",
        data={"context": "clue_handle", "ref": "线索处理", "url": "/inbox/tasks/7"},
    )
    assert resp.status_code == 200 and resp.get_json()["article"] == items[0]["article"]
    assert officer.post(f"/knowledge/entries/{entry_id}/use", data={"context": "nowhere"}).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count(KnowledgeUsage.id))) == 1
    page = page_text(officer.get(f"/knowledge/entries/{entry_id}"))
    assert "线索处理" in page and 'href="/inbox/tasks/7"' in officer.get(f"/knowledge/entries/{entry_id}").get_data(
        as_text=True
    )
    officer.post(f"/knowledge/entries/{entry_id}/helpful")
    officer.post(f"/knowledge/entries/{entry_id}/helpful")  # once per person
    client_for("xh_officer").post(f"/knowledge/entries/{entry_id}/helpful")
    assert _entry(app, id=entry_id).helpful_count == 2
    # The clue 处理 form carries the picker.
    from app.engine.forms import fields, parse

    with (
        open("forms/clue_handle.uischema.json", encoding="utf-8") as ui,
        open("forms/clue_handle.schema.json", encoding="utf-8") as sc,
    ):
        widgets = {f.name: f.widget for f in fields(parse(sc.read()), parse(ui.read()))}
    assert widgets.get("knowledge_refs") == "knowledge"


def test_picker_on_the_inspection_record_and_its_use_recorded_when_saved(app, client_for):
    """登记检查 (综合查一次) carries the picker; the entries picked are recorded as used by that inspection
    when the form is saved (once each, only entries the officer may see), and the entry lists the use."""
    from app.plans.models import Inspection
    from tests.enterprise_fixtures import make_enterprise

    with app.app_context():
        from app.demo.knowledge import seed_knowledge
        from tests.conftest import user

        seed_knowledge(user("chief"))
        ent = make_enterprise("310101", 7, "上海浦江仓储有限公司", grade="C")
        db.session.commit()
        ent_id, code = ent.id, ent.credit_code
    officer = client_for("hp_officer")
    page = officer.get("/checks/").get_data(as_text=True)
    assert 'data-knowledge-context="inspection"' in page and 'name="knowledge_ids"' in page
    items = officer.get("/knowledge/suggest?q=仓库与员工宿舍在同一建筑内，疏散通道被锁闭").get_json()["items"]
    assert len(items) >= 2
    picked = f"{items[0]['id']},{items[1]['id']},{items[0]['id']},999999,x"
    resp = officer.post(
        "/checks/inspections",
        data={"enterprise": code, "note": "仓库与员工宿舍在同一建筑内", "knowledge_ids": picked},
    )
    assert resp.status_code == 302
    with app.app_context():
        inspection = db.session.scalar(select(Inspection).where(Inspection.enterprise_id == ent_id))
        rows = db.session.scalars(select(KnowledgeUsage).order_by(KnowledgeUsage.id)).all()
        assert [u.entry_id for u in rows] == [items[0]["id"], items[1]["id"]]
        assert {u.context for u in rows} == {"inspection"}
        assert rows[0].ref.startswith(f"检查记录 {inspection.id}：上海浦江仓储有限公司")
        assert rows[0].url == f"/enterprises/{ent_id}"
    entry_page = officer.get(f"/knowledge/entries/{items[0]['id']}").get_data(as_text=True)
    assert "检查记录" in entry_page and f'href="/enterprises/{ent_id}"' in entry_page
    # Without picks nothing is recorded.
    officer.post("/checks/inspections", data={"enterprise": code, "note": "复查"})
    with app.app_context():
        assert db.session.scalar(select(func.count(KnowledgeUsage.id))) == 2


def test_synonyms_are_for_administrators_and_act_at_once(app, client_for):
    officer = client_for("hp_officer")
    officer.post("/knowledge/entries/new?library=violation", data={**VIOLATION, "title": "有限空间作业未审批"})
    assert officer.get("/knowledge/synonyms").status_code == 403
    chief = client_for("chief")
    bad = chief.post("/knowledge/synonyms", data={"words": "只有一个"})
    assert bad.status_code == 200 and "至少两个词" in page_text(bad)
    assert chief.post("/knowledge/synonyms", data={"words": "有限空间，密闭舱室"}).status_code == 302
    from app.knowledge import search

    with app.app_context():
        hits = search.search("密闭舱室", statuses=("draft",)).hits
        assert [h.entry.title for h in hits] == ["有限空间作业未审批"]


def test_search_page_highlights_facets_and_browse(app, client_for):
    with app.app_context():
        from app.demo.knowledge import seed_knowledge
        from tests.conftest import user

        seed_knowledge(user("chief"))
        db.session.commit()
    officer = client_for("xh_officer")
    html = officer.get("/knowledge/?q=有线空间 审批").get_data(as_text=True)
    assert "已按「有限空间 审批」检索" in html  # the typo is corrected and said so
    assert "<mark>有限空间</mark>" in html and "《中华人民共和国安全生产法》" in html
    assert 'id="facets"' in html and "有限空间作业</a>" in html and "典型案例库" in html
    # a facet narrows the results; the page of a year shows only cases of that year
    cases = officer.get("/knowledge/?q=有限空间&library=case").get_data(as_text=True)
    assert "违法行为库</span>" not in cases and "典型案例库</span>" in cases
    # no query: the published list with facets from the database
    browse = page_text(officer.get("/knowledge/?library=guide"))
    assert "合规指引" in browse and "共 30 条" in browse
    # HTML typed into the search box is shown as text
    assert (
        "<script>"
        not in officer.get("/knowledge/?q=<script>alert(1)</script>").get_data(as_text=True).split("<main")[1]
    )
    for url in ("/knowledge/manage", "/knowledge/entries/new?library=case", "/knowledge/import"):
        assert officer.get(url).status_code == 200, url
    assert client_for("hp_street").get("/knowledge/manage").status_code == 403  # read-only role
