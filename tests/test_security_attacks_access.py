"""Attacks on access rules (issue 14): the process administrator (no business role) downloading every
document city-wide, and the API description readable without a login."""

from __future__ import annotations

from app.extensions import db
from tests.test_reports import _report_doc


def test_process_admin_without_business_role_cannot_read_documents(app, login_as):
    with app.app_context():
        doc = _report_doc("310101")
        db.session.commit()
        doc_id = doc.id
    proc = login_as("procadmin")
    assert proc.get(f"/documents/{doc_id}/download").status_code == 403
    listing = proc.get("/documents")
    assert listing.status_code == 403
    for admin in ("admin", "secadmin", "auditor"):
        assert login_as(admin).get(f"/documents/{doc_id}/download").status_code == 403
    assert login_as("leader").get(f"/documents/{doc_id}/download").status_code == 200  # business role


def test_openapi_description_needs_a_login(app, client, login_as):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code in (302, 401) and b'"paths"' not in resp.data
    assert login_as("hp_officer").get("/api/v1/openapi.json").status_code == 200
