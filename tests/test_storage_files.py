"""Every kind of file the product keeps goes through app.storage, on the file store and on S3 (moto's server
on loopback): process attachments, knowledge attachments, SOE files, generated documents and exports make
the round trip upload → download → delete, a missing object answers 404 in Chinese, files of the old
folders are still served and `ducha storage migrate` copies them in (idempotent, with a count report)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import Attachment, HumanTask
from app.storage import FileStorage, LegacyFallback, ObjectMissing, S3Storage, from_config
from tests import bpmn_builder
from tests.api_helpers import Bearer, issue_token
from tests.conftest import page_text, user
from tests.storage_support import S3_CONFIG, MotoServer, moto_executable, s3_config

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def s3_url():
    if moto_executable() is None:
        reason = "moto_server is not installed (pip install 'moto[server]')"
        print(reason)
        pytest.skip(reason)
    with MotoServer() as url:
        yield url


@pytest.fixture(params=["file", "s3"])
def store(request, app, tmp_path, monkeypatch):
    """The app's store for one test: a file store in tmp_path, or a fresh bucket on the moto server; the
    old folders (UPLOAD_DIR, documents, exports) are empty folders of this test too."""
    for name in ("UPLOAD_DIR", "DOCUMENTS_DIR", "EXPORTS_DIR"):
        monkeypatch.setitem(app.config, name, str(tmp_path / "old" / name.lower()))
    if request.param == "s3":
        override = s3_config(request.getfixturevalue("s3_url"), f"files-{uuid.uuid4().hex[:12]}")
    else:
        override = {"STORAGE": "file", "STORAGE_DIR": str(tmp_path / "store")}
    saved = app.extensions.get("ducha.storage")
    built = from_config({**app.config, **override})
    app.extensions["ducha.storage"] = built
    try:
        yield built
    finally:
        app.extensions["ducha.storage"] = saved


def _primary(store):
    return store.primary if isinstance(store, LegacyFallback) else store


# ---------------------------------------------------------------- process and clue attachments


def _instance(app, login_as) -> int:
    with app.app_context():
        node = ("node", "审核", {"assignee": "users:hp_leader"})
        bpmn_builder.deploy_xml("files", bpmn_builder.linear("files", [node]))
    officer = login_as("hp_officer")
    assert officer.post("/inbox/start/files", data={}).status_code == 302
    with app.app_context():
        return db.session.scalar(select(HumanTask.instance_id).where(HumanTask.step == "fill"))


def test_process_attachment_round_trip(app, store, login_as):
    instance_id = _instance(app, login_as)
    officer = login_as("hp_officer")
    resp = officer.post(
        f"/inbox/instances/{instance_id}/attach",
        data={"file": (io.BytesIO(PDF), "现场检查记录.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    with app.app_context():
        att = db.session.scalars(select(Attachment)).one()
        key = "uploads/" + att.path
        assert _primary(store).get(key) == PDF  # in the configured store itself
        assert not (Path(app.config["UPLOAD_DIR"]) / att.path).exists()  # not in the old folder
    with officer.get(f"/inbox/attachments/{att.id}") as got:
        assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
        assert "attachment" in got.headers["Content-Disposition"]
    with officer.get(f"/api/v1/attachments/{att.id}") as got:
        assert got.status_code == 200 and got.data == PDF
    # Access checks are as they were: another district's officer does not see the instance.
    assert login_as("xh_officer").get(f"/inbox/attachments/{att.id}").status_code in (403, 404)

    assert store.delete(key) is True and not store.exists(key)
    gone = officer.get(f"/inbox/attachments/{att.id}")
    assert gone.status_code == 404 and "附件文件不存在或已被移除" in page_text(gone)
    api = officer.get(f"/api/v1/attachments/{att.id}", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.get_json()["message"] == "附件文件不存在或已被移除"


def test_an_upload_of_a_rolled_back_transaction_is_removed(app, store, login_as):
    from app.inbox import collab

    instance_id = _instance(app, login_as)
    with app.app_context():
        from app.engine.models import ProcessInstance

        inst = db.session.get(ProcessInstance, instance_id)
        att = collab.store_attachment(inst, user("hp_officer"), filename="a.pdf", data=PDF)
        key = "uploads/" + att.path
        assert store.exists(key)
        db.session.rollback()
        assert not store.exists(key)


# ---------------------------------------------------------------- knowledge base


def test_knowledge_attachment_round_trip(app, store, client_for):
    from app.knowledge.models import KnowledgeAttachment
    from tests.test_knowledge import _create, _docx

    officer = client_for("hp_officer")
    entry_id = _create(officer)
    for data, name in ((PDF, "处罚决定书.pdf"), (_docx(), "指引.docx")):
        resp = officer.post(
            f"/knowledge/entries/{entry_id}/attachments",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 302
    with app.app_context():
        pdf, docx = db.session.scalars(select(KnowledgeAttachment).order_by(KnowledgeAttachment.id)).all()
        assert pdf.path.startswith("knowledge/") and _primary(store).get("uploads/" + pdf.path) == PDF
    with officer.get(f"/knowledge/attachments/{pdf.id}?inline=1") as got:
        assert got.status_code == 200 and got.data == PDF and "attachment" not in got.headers["Content-Disposition"]
    assert "作业审批</h2>" in officer.get(f"/knowledge/attachments/{docx.id}/preview").get_data(as_text=True)
    assert client_for("xh_officer").get(f"/knowledge/attachments/{pdf.id}").status_code == 403  # scope as before

    for item in (pdf, docx):
        store.delete("uploads/" + item.path)
    gone = officer.get(f"/knowledge/attachments/{pdf.id}")
    assert gone.status_code == 404 and "附件文件不存在或已被移除" in page_text(gone)
    assert "文档无法预览" in officer.get(f"/knowledge/attachments/{docx.id}/preview").get_data(as_text=True)


# ---------------------------------------------------------------- data exchange (SOE files)


def test_soe_attachment_is_stored_once_by_digest(app, store):
    import hashlib

    from tests.test_exchange_soe import GOOD

    api = Bearer(app, issue_token(app, "svc_js", org="SOE-JS", roles=["soe_officer"]))
    assert api.post("/api/v1/exchange/soe/inspections", json={"items": [GOOD]}).status_code == 200
    data = b"%PDF-1.4 soe evidence"
    for _ in range(2):  # the same file twice: one object
        files = {"record_no": GOOD["record_no"], "file": (io.BytesIO(data), "检查照片.pdf")}
        sent = api.post("/api/v1/exchange/soe/attachments", data=files, content_type="multipart/form-data")
        assert sent.status_code == 200 and sent.get_json()["sha256"] == hashlib.sha256(data).hexdigest()
    with app.app_context():
        keys = list(_primary(store).iter_keys("uploads/exchange/"))
        assert keys == [f"uploads/exchange/SOE-JS/{hashlib.sha256(data).hexdigest()}"]
        assert store.get(keys[0]) == data
        assert store.delete(keys[0]) and not store.exists(keys[0])


# ---------------------------------------------------------------- generated documents


def _document(org_code="310101"):
    from app.orgs.models import Organisation
    from app.reports import services

    org = db.session.scalar(select(Organisation).where(Organisation.code == org_code))
    return services.store_document(
        kind="investigation_report",
        title="调查报告（存储测试）",
        template="investigation_report.html",
        context={"clue_no": "XS-1"},
        org_id=org.id,
        created_by=user("hp_officer"),
        data=PDF,
    )


def test_document_round_trip_and_rollback(app, store, client_for):
    from app.reports import services

    with app.app_context():
        doc = _document()
        key = services.document_key(doc)
        assert key.startswith("documents/") and _primary(store).get(key) == PDF
        db.session.rollback()
        assert not store.exists(key)  # the PDF of a rolled-back transaction goes with it
        doc = _document()
        db.session.commit()
        doc_id, key = doc.id, services.document_key(doc)
    officer = client_for("hp_officer")
    with officer.get(f"/documents/{doc_id}/download") as got:
        assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert client_for("xh_officer").get(f"/documents/{doc_id}/download").status_code in (403, 404)
    store.delete(key)
    gone = officer.get(f"/documents/{doc_id}/download")
    assert gone.status_code == 404 and "文书文件不存在或已被移除" in page_text(gone)


def test_a_tampered_document_path_reads_nothing(app, store, client_for):
    from app.reports.models import Document

    with app.app_context():
        doc = _document()
        doc.path = "../../keys/kek.bin"
        db.session.commit()
        doc_id = doc.id
    resp = client_for("hp_officer").get(f"/documents/{doc_id}/download")
    assert resp.status_code == 404 and "文书文件不存在" in page_text(resp)
    with app.app_context():
        assert db.session.get(Document, doc_id).path == "../../keys/kek.bin"


# ---------------------------------------------------------------- exports


def test_export_file_round_trip(app, store, client_for):
    from app.tabular.background import export_job

    admin = client_for("procadmin")
    with app.app_context():
        result = export_job(lambda *a: None, name="instances", user_id=user("procadmin").id, args={}, fmt="csv")
        db.session.commit()
        stored = result["url"].split("?")[0].rsplit("/", 1)[1]
        assert _primary(store).exists("exports/" + stored)
    with admin.get(result["url"]) as got:
        assert got.status_code == 200 and got.data.decode("utf-8-sig").startswith("流程编号")
    assert client_for("auditor").get(result["url"]).status_code == 404  # only its creator
    store.delete("exports/" + stored)
    gone = admin.get(result["url"])
    assert gone.status_code == 404 and "导出文件不存在或已被清理" in page_text(gone)


# ---------------------------------------------------------------- serving


def test_large_objects_stream_and_file_store_uses_x_accel(app, store, login_as, monkeypatch):
    instance_id = _instance(app, login_as)
    officer = login_as("hp_officer")
    big = PDF + b"%" + bytes(range(256)) * 200
    officer.post(
        f"/inbox/instances/{instance_id}/attach",
        data={"file": (io.BytesIO(big), "大文件.pdf")},
        content_type="multipart/form-data",
    )
    with app.app_context():
        att = db.session.scalars(select(Attachment)).one()
    monkeypatch.setitem(app.config, "STORAGE_STREAM_MIN_BYTES", 1024)  # stream, do not read whole
    with officer.get(f"/inbox/attachments/{att.id}") as got:
        assert got.status_code == 200 and got.data == big and int(got.headers["Content-Length"]) == len(big)
    monkeypatch.setitem(app.config, "STORAGE_X_ACCEL", "/_files/")
    with officer.get(f"/inbox/attachments/{att.id}") as got:
        if isinstance(_primary(store), FileStorage):  # nginx sends the file from its internal location
            assert got.headers["X-Accel-Redirect"] == "/_files/uploads/" + att.path and got.data == b""
        else:  # S3: no local file, the app streams it
            assert "X-Accel-Redirect" not in got.headers and got.data == big


def test_missing_object_messages_are_chinese(app, store):
    with app.app_context(), pytest.raises(ObjectMissing, match="文件不存在"):
        store.get("uploads/nothing/here.pdf")
    with pytest.raises(ObjectMissing, match="文件不存在"):
        store.open_stream("documents/2026/12/none.pdf")


# ---------------------------------------------------------------- old folders and migrate


def _legacy_files(app) -> dict[str, bytes]:
    """Files where the app wrote them before (UPLOAD_DIR, <instance>/documents, <instance>/exports)."""
    uploads, documents = Path(app.config["UPLOAD_DIR"]), Path(app.config["DOCUMENTS_DIR"])
    made = {
        "uploads/0000/7/legacy-1.pdf": (uploads / "0000/7/legacy-1.pdf", PDF),
        "uploads/knowledge/9/legacy-2.pdf": (uploads / "knowledge/9/legacy-2.pdf", PDF + b"2"),
        "documents/2025/01/legacy-3.pdf": (documents / "2025/01/legacy-3.pdf", PDF + b"3"),
        "exports/1-0123456789abcdef.csv": (Path(app.config["EXPORTS_DIR"]) / "1-0123456789abcdef.csv", b"a,b\n"),
    }
    for path, data in made.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (uploads / "0000/7/half.pdf.part").write_bytes(b"unfinished")  # never copied
    return {key: data for key, (_, data) in made.items()}


def test_old_folders_are_read_and_migrate_copies_them_once(app, store, login_as, runner):
    instance_id = _instance(app, login_as)
    legacy = _legacy_files(app)
    with app.app_context():
        att = Attachment(
            instance_id=instance_id,
            filename="旧附件.pdf",
            content_type="application/pdf",
            size=len(PDF),
            sm3="0" * 64,
            path="0000/7/legacy-1.pdf",
            uploaded_by_id=user("hp_officer").id,
        )
        db.session.add(att)
        db.session.commit()
        att_id = att.id
        for key, data in legacy.items():  # read through the fallback before the migration
            assert store.get(key) == data and not _primary(store).exists(key)
    officer = login_as("hp_officer")
    with officer.get(f"/inbox/attachments/{att_id}") as got:
        assert got.status_code == 200 and got.data == PDF

    dry = runner.invoke(args=["ducha", "storage", "migrate", "--dry-run"])
    assert dry.exit_code == 0 and "将复制 4 个文件" in dry.output, dry.output
    first = runner.invoke(args=["ducha", "storage", "migrate"])
    assert first.exit_code == 0, first.output
    assert "已复制 4 个文件" in first.output and "已在存储中 0 个" in first.output and "失败 0 个" in first.output
    with app.app_context():
        for key, data in legacy.items():
            assert _primary(store).get(key) == data
        assert not _primary(store).exists("uploads/0000/7/half.pdf.part")
    again = runner.invoke(args=["ducha", "storage", "migrate"])  # idempotent
    assert again.exit_code == 0 and "已复制 0 个文件" in again.output and "已在存储中 4 个" in again.output
    removed = runner.invoke(args=["ducha", "storage", "migrate", "--remove-source"])
    assert removed.exit_code == 0 and "删除源文件 4 个" in removed.output
    assert not (Path(app.config["UPLOAD_DIR"]) / "0000/7/legacy-1.pdf").exists()
    with officer.get(f"/inbox/attachments/{att_id}") as got:  # now from the store
        assert got.status_code == 200 and got.data == PDF


def test_migrate_reports_a_failure_and_exits_1(app, store, runner, monkeypatch):
    _legacy_files(app)
    primary = _primary(store)
    real_put = primary.put

    def flaky(key, data, content_type="application/octet-stream"):
        if key.startswith("documents/"):
            from app.storage import StorageError

            raise StorageError("对象存储无法访问（EndpointConnectionError）")
        return real_put(key, data, content_type)

    monkeypatch.setattr(primary, "put", flaky)
    out = runner.invoke(args=["ducha", "storage", "migrate"])
    assert out.exit_code == 1 and "已复制 3 个文件" in out.output and "失败 1 个" in out.output
    assert "documents/2025/01/legacy-3.pdf: 对象存储无法访问" in out.output


def test_s3_config_without_bucket_is_refused(app):
    from app.storage import StorageError

    with pytest.raises(StorageError, match="未配置存储桶"):
        from_config({**app.config, "STORAGE": "s3", "S3_BUCKET": None})
    assert isinstance(from_config({**app.config, "STORAGE": "file"}), FileStorage | LegacyFallback)
    assert S3Storage  # the S3 backend is the one the fixture's "s3" parameter uses


def test_session_store_follows_the_env_switch(app):
    """DUCHA_TEST_STORAGE=s3 runs every test module against a moto bucket (tests/conftest.py)."""
    import os

    from app.storage import get_storage

    with app.app_context():
        primary = _primary(get_storage())
        expected = S3Storage if os.environ.get("DUCHA_TEST_STORAGE") == "s3" else FileStorage
        assert isinstance(primary, expected)


def test_storage_check_creates_the_bucket_and_probes(app, store, runner):
    out = runner.invoke(args=["ducha", "storage", "check"])
    assert out.exit_code == 0 and "storage ok" in out.output, out.output
    primary = _primary(store)
    if isinstance(primary, S3Storage):  # a bucket nobody created yet (a fresh MinIO): created by the check
        bucket = f"fresh-{uuid.uuid4().hex[:10]}"
        endpoint = primary.client.meta.endpoint_url
        built = from_config({**app.config, **S3_CONFIG, "STORAGE": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT": endpoint})
        app.extensions["ducha.storage"] = built
        out = runner.invoke(args=["ducha", "storage", "check"])
        assert out.exit_code == 0 and f"s3://{bucket}" in out.output, out.output
        assert list(_primary(built).iter_keys("")) == []  # the probe was deleted
    else:
        assert list(primary.iter_keys("health/")) == []


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"STORAGE": "ftp"}, "DUCHA_STORAGE must be file or s3"),
        ({"STORAGE": "s3", "S3_BUCKET": ""}, "DUCHA_S3_BUCKET must be set"),
        ({"BACKUP_FILES": "some"}, "DUCHA_BACKUP_FILES must be archive or none"),
    ],
)
def test_storage_settings_are_checked_at_start(app, setting, message):
    from app.ops.settings_check import problems

    assert any(message in p for p in problems({**app.config, **setting}))
    assert not problems({**app.config, "STORAGE": "s3", "S3_BUCKET": "ducha"})
