"""Document rendering (WeasyPrint, CJK fonts), sealing (SM3, sign-off, verification) and background jobs."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.reports import jobs, samples, services
from app.reports.models import Document, Job
from app.reports.render import chinese_date, chinese_datetime, local_only_fetcher, render_pdf
from app.storage import get_storage
from tests.conftest import page_text, user

POPPLER = shutil.which("pdftotext") and shutil.which("pdffonts") and shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils not installed")
SIGNED_PNG_PREFIX = "/tmp/ducha-signed-report"


def _org(code: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True)
    return out.stdout


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _embedded_fonts(data: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type... encoding emb sub uni id gen: "emb" is the 5th column from the end
        rows.append((parts[0], parts[-5]))
    return rows


def _signature_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (360, 120), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    points = [(20, 90), (60, 30), (90, 85), (130, 25), (170, 95), (210, 40), (250, 80), (300, 35), (340, 70)]
    draw.line(points, fill=(20, 20, 90, 255), width=6, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _report_doc(org_code: str = "310101", *, by: str = "hp_officer") -> Document:
    context = samples.investigation_report_context()
    return services.store_document(
        kind="investigation_report",
        title=context["title"],
        template="investigation_report.html",
        context=context,
        org_id=_org(org_code).id,
        created_by=user(by),
        business_key=context["clue_no"],
    )


# ---------------------------------------------------------------- rendering


def test_chinese_dates():
    assert chinese_date(date(2026, 11, 28)) == "二〇二六年十一月二十八日"
    assert chinese_date(date(2026, 1, 1)) == "二〇二六年一月一日"
    assert chinese_date(date(2030, 10, 10)) == "二〇三〇年十月十日"
    assert chinese_date("2027-12-31") == "二〇二七年十二月三十一日"
    assert chinese_date(None) == ""


def test_chinese_datetime_is_local_time(ctx):
    # 23:30 UTC is the next morning in Shanghai.
    assert chinese_datetime(datetime(2026, 11, 27, 23, 30, tzinfo=UTC)) == "二〇二六年十一月二十八日 07:30"
    assert chinese_datetime("2026-11-27T23:30:00+00:00") == "二〇二六年十一月二十八日 07:30"


@needs_poppler
@pytest.mark.parametrize(
    ("template", "make_context", "expected"),
    [
        ("investigation_order.html", samples.investigation_order_context, ["线索调查单", "核查事项", "调查要求"]),
        (
            "investigation_report.html",
            samples.investigation_report_context,
            ["违规储存危险化学品问题的调查报告", "发现的隐患", "超过核定最大储存量", "审核意见"],
        ),
    ],
)
def test_render_templates_to_pdf_with_embedded_cjk_font(ctx, tmp_path, template, make_context, expected):
    context = {**make_context(), "number": "沪应急执〔2026〕12号"}
    seen: list[int] = []
    started = time.perf_counter()
    data = render_pdf(template, context, progress=lambda p, _m: seen.append(p))
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"{template}: {elapsed_ms:.0f} ms, {len(data)} bytes")

    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    text = _pdf_text(data, tmp_path)
    flat = _flat(text)
    for words in [*expected, context["enterprise"], "上海市应急管理局执法总队", "沪应急执〔2026〕12号"]:
        assert _flat(words) in flat, words
    assert f"第1页共{len(reader.pages)}页" in flat
    fonts = _embedded_fonts(data, tmp_path)
    assert any("CJK" in name and emb == "yes" for name, emb in fonts), fonts
    assert all(emb == "yes" for _name, emb in fonts), fonts
    assert seen[0] < seen[-1] == 100
    assert elapsed_ms < 5000


def test_fetcher_refuses_network_and_foreign_files(ctx):
    fetcher = local_only_fetcher()
    for url in ("http://example.com/logo.png", "https://10.0.0.1/x.css", "ftp://host/x", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,5Lit5paH").read() == "中文".encode()


def test_template_names_cannot_escape_the_report_folder(ctx):
    with pytest.raises(ValidationFailed):
        render_pdf("../base.html", {})


def test_user_text_is_escaped_not_markup(ctx, tmp_path):
    context = {**samples.investigation_order_context(), "matter": '<img src="http://evil.example/x.png">举报内容'}
    data = render_pdf("investigation_order.html", context)
    assert "<img" in _pdf_text(data, tmp_path)  # printed as text, never fetched


# ---------------------------------------------------------------- storing and signing


def test_store_document_writes_file_and_sm3(app, ctx):
    doc = _report_doc()
    db.session.commit()
    key = services.document_key(doc)
    assert key.startswith("documents/") and get_storage().exists(key)
    data = get_storage().get(key)
    assert doc.size == len(data)
    assert doc.sm3 == services.sm3_hex(data) and len(doc.sm3) == 64
    # SM3 of "abc" (GB/T 32905-2016 example 1): the digest is really SM3.
    assert services.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert doc.status == "draft" and doc.number is None
    assert doc.context["investigated_at"].count("-") == 2  # dates stored as ISO strings
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "document.create"))
    assert entry.object_id == str(doc.id) and entry.detail["sm3"] == doc.sm3


def test_store_document_removes_its_file_on_rollback(ctx):
    doc = _report_doc()
    key = services.document_key(doc)
    assert get_storage().exists(key)
    db.session.rollback()
    assert not get_storage().exists(key)
    # A session closed without committing (a request that never commits) is a rollback too.
    key = services.document_key(_report_doc())
    db.session.remove()
    assert not get_storage().exists(key)


@needs_poppler
def test_sign_document_records_signer_time_number_and_audit(ctx, tmp_path):
    doc = _report_doc()
    db.session.commit()
    draft_key = services.document_key(doc)
    leader = user("leader")
    before = datetime.now(UTC)

    signed = services.sign_document(doc, signer=leader, signature_png=_signature_png(), ip="10.1.2.3")
    db.session.commit()

    year = signed.signed_at.astimezone().year
    assert signed.status == "signed"
    assert signed.signer_name == "周建国" and signed.signed_by_id == leader.id
    assert signed.number == f"沪应急执〔{year}〕1号"
    assert before <= signed.signed_at <= datetime.now(UTC)
    data = services.read_document(signed)
    assert signed.sm3 == services.sm3_hex(data) and signed.size == len(data)
    assert not get_storage().exists(draft_key)  # the draft is superseded once the signature committed

    flat = _flat(_pdf_text(data, tmp_path))
    assert "签发人：周建国" in flat
    assert _flat(chinese_datetime(signed.signed_at)) in flat
    assert signed.number in flat
    assert "草稿" not in flat and "待签发" not in flat
    reader = PdfReader(io.BytesIO(data))
    # The handwritten signature is the one image (WeasyPrint shares resources between pages).
    assert len({image.data for page in reader.pages for image in page.images}) == 1

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "document.sign"))
    assert entry.actor_login == "leader" and entry.ip == "10.1.2.3"
    assert entry.detail["sm3"] == signed.sm3
    assert entry.detail["number"] == signed.number and entry.detail["handwritten"] is True

    # For the report: the first page of the signed report as an image.
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), SIGNED_PNG_PREFIX], check=True)
    assert Path(SIGNED_PNG_PREFIX + "-1.png").is_file()

    with pytest.raises(Conflict, match="周建国"):
        services.sign_document(signed, signer=user("chief"))


def test_numbers_are_sequential_per_year(ctx):
    assert services.allocate_number(year=2026) == "沪应急执〔2026〕1号"
    assert services.allocate_number(year=2026) == "沪应急执〔2026〕2号"
    assert services.allocate_number(year=2027) == "沪应急执〔2027〕1号"
    assert services.allocate_number("沪应急执函", 2026) == "沪应急执函〔2026〕1号"


def test_signing_needs_permission_scope_and_a_png(ctx):
    doc = _report_doc("310101")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.sign_document(doc, signer=user("hp_officer"))  # no 报告签发 permission
    with pytest.raises(PermissionDenied):
        services.sign_document(doc, signer=user("xh_leader"))  # another district
    with pytest.raises(ValidationFailed):
        services.sign_document(doc, signer=user("hp_leader"), signature_png=b"GIF89a not a png")
    db.session.rollback()
    signed = services.sign_document(doc, signer=user("hp_leader"))
    assert signed.signer_name == "黄浦大队长"


def test_verify_recognises_signed_original_and_rejects_changes(ctx):
    doc = _report_doc()
    db.session.commit()
    draft = services.read_document(doc)
    assert services.verify_pdf(draft) is None  # a draft is not an original
    signed = services.sign_document(doc, signer=user("leader"))
    db.session.commit()
    data = services.read_document(signed)
    assert services.verify_pdf(data) == signed
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    assert services.verify_pdf(bytes(changed)) is None
    assert services.verify_pdf(data + b"\n") is None
    assert services.verify_pdf(b"") is None


# ---------------------------------------------------------------- pages
# Requests run outside the test's app context: inside it they would share `g` (and the logged-in user).


def test_verify_page(app, login_as):
    with app.app_context():
        signed = services.sign_document(_report_doc(), signer=user("leader"))
        db.session.commit()
        data = services.read_document(signed)
        number = signed.number
    c = login_as("xh_officer")  # verifying needs no scope: the holder already has the file
    assert c.get("/documents/verify").status_code == 200

    resp = c.post("/documents/verify", data={"file": (io.BytesIO(data), "报告.pdf")})
    body = page_text(resp)
    assert resp.status_code == 200
    assert f"是已签发原件：文号 {number}" in body and "签发人 周建国" in body

    changed = bytearray(data)
    changed[100] ^= 0xFF
    resp = c.post("/documents/verify", data={"file": (io.BytesIO(bytes(changed)), "报告.pdf")})
    assert "不是本系统签发的原件或文件已被改动" in page_text(resp)

    assert c.post("/documents/verify", data={}).status_code == 422
    with app.app_context():
        details = db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "document.verify").order_by(AuditEntry.id)
        ).all()
        assert [d["genuine"] for d in details] == [True, False]


def test_download_is_scoped_and_audited(app, login_as):
    with app.app_context():
        doc = _report_doc("310101")
        db.session.commit()
        doc_id, digest = doc.id, doc.sm3
    resp = login_as("hp_leader").get(f"/documents/{doc_id}/download")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
    assert "attachment" in resp.headers["Content-Disposition"]
    with app.app_context():
        assert services.sm3_hex(resp.data) == digest
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "document.download"))
        assert entry.actor_login == "hp_leader" and entry.detail["sm3"] == digest

    assert login_as("xh_leader").get(f"/documents/{doc_id}/download").status_code == 404  # other district
    assert login_as("admin").get(f"/documents/{doc_id}/download").status_code == 403  # no business role
    assert login_as("leader").get(f"/documents/{doc_id}/download?inline=1").status_code == 200  # city sees all
    assert login_as("leader").get("/documents/99999/download").status_code == 404


def test_document_list_shows_only_scope(app, login_as):
    with app.app_context():
        hp = _report_doc("310101").title
        xh = services.store_document(
            kind="investigation_order",
            title="徐汇区线索调查单",
            template="investigation_order.html",
            context=samples.investigation_order_context(district="徐汇区"),
            org_id=_org("310104").id,
            created_by=user("xh_officer"),
        ).title
        db.session.commit()
    body = page_text(login_as("hp_leader").get("/documents"))
    assert hp in body and xh not in body
    body = page_text(login_as("leader").get("/documents"))
    assert hp in body and xh in body
    body = page_text(login_as("leader").get("/documents?kind=investigation_order"))
    assert hp not in body and xh in body


# ---------------------------------------------------------------- background jobs


def _poll(client, job_id: int, until, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/jobs/{job_id}").get_json()
        if until(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def test_job_runs_to_done_with_visible_progress(app, login_as):
    gate = threading.Event()

    def work(report, batches: int, *, label: str) -> dict:
        report(10, f"{label}：准备")
        report(40, f"{label}：已处理 2/{batches} 批")
        assert gate.wait(10)
        report(90, f"{label}：写入结果")
        return {"url": "/documents", "message": f"{label}完成", "rows": 5}

    with app.app_context():
        job = jobs.start_job("import.test", work, 5, label="企业导入", user=user("hp_officer"))
        assert job.status == "queued"
        db.session.commit()
        job_id = job.id
    owner = login_as("hp_officer")
    try:
        body = _poll(owner, job_id, lambda b: b["progress"] == 40)
        assert body["status"] == "running" and body["message"] == "企业导入：已处理 2/5 批"
        assert body["finished"] is False and body["result_url"] is None
        bar = page_text(owner.get(f"/jobs/{job_id}/bar"))
        assert 'hx-trigger="every 1s"' in bar and "40%" in bar and 'aria-valuenow="40"' in bar

        assert login_as("xh_officer").get(f"/jobs/{job_id}").status_code == 403  # not the creator
        assert login_as("hp_leader").get(f"/jobs/{job_id}/bar").status_code == 403
        assert login_as("admin").get(f"/jobs/{job_id}").status_code == 200  # a system administrator may
    finally:
        gate.set()
        assert jobs.wait_for_jobs(15)

    body = owner.get(f"/jobs/{job_id}").get_json()
    assert body["status"] == "done" and body["progress"] == 100 and body["finished"] is True
    assert body["message"] == "企业导入完成" and body["result_url"] == "/documents"
    bar = page_text(owner.get(f"/jobs/{job_id}/bar"))
    assert "hx-trigger" not in bar and "100%" in bar and 'href="/documents"' in bar
    with app.app_context():
        row = db.session.get(Job, job_id)
        assert row.result["rows"] == 5 and row.started_at <= row.finished_at
    assert owner.get("/jobs/99999").status_code == 404


def test_job_failures_roll_back_and_are_reported(ctx):
    def invalid(report):
        report(30, "校验数据")
        db.session.add(Organisation(code="X-JOB", name="不应保存", kind="street", path="/X-JOB/"))
        db.session.flush()
        raise ValidationFailed("第 3 行统一社会信用代码格式错误")

    def broken(report):
        raise RuntimeError("boom")

    a = jobs.start_job("import.test", invalid, user=user("hp_officer"))
    b = jobs.start_job("export.test", broken, user=user("hp_officer"))
    db.session.commit()
    assert jobs.wait_for_jobs(15)
    db.session.expire_all()
    assert (a.status, a.message) == ("failed", "第 3 行统一社会信用代码格式错误")
    assert a.progress == 30 and a.finished_at is not None
    assert (b.status, b.message) == ("failed", jobs.FAILED_MESSAGE)
    assert _org("X-JOB") is None


def test_job_does_not_start_when_the_transaction_rolls_back(ctx):
    ran = threading.Event()
    job = jobs.start_job("export.test", lambda report: ran.set(), user=user("hp_officer"))
    job_id = job.id
    db.session.rollback()
    assert jobs.wait_for_jobs(5)
    assert not ran.is_set()
    assert db.session.get(Job, job_id) is None


def test_document_generation_in_background(app, login_as):
    c = login_as("hp_leader")
    resp = c.post("/documents/sample")
    assert resp.status_code == 302
    job_id = int(resp.headers["Location"].rsplit("job=", 1)[1])
    assert jobs.wait_for_jobs(30)
    body = c.get(f"/jobs/{job_id}").get_json()
    assert body["status"] == "done", body
    download = c.get(body["result_url"])
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    with app.app_context():
        doc = db.session.scalar(select(Document).where(Document.kind == "investigation_report"))
        leader = user("hp_leader")
        assert doc.org_id == leader.org_id and doc.created_by_id == leader.id
        title = doc.title
    page = page_text(c.get(f"/documents?job={job_id}"))
    assert title in page and "下载结果" in page

    resp = c.post("/documents/sample", headers={"HX-Request": "true"})
    assert 'class="progress"' in resp.get_data(as_text=True)
    assert jobs.wait_for_jobs(30)
