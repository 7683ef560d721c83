"""Helpers that replaced near-copies (duplicates review): the row an edit form posts back (labels, triggers),
the enterprise pages' date check on the one date rule, and the service-task helpers for a process's
business row and last actor (clues, account applications, overlimit filings)."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.auth.models import User
from app.engine.services import last_actor, linked
from app.enterprises.params import form_row, parse_date
from app.errors import NotFound, ValidationFailed
from tests.conftest import page_text, user


def test_an_edit_form_with_a_stale_id_is_a_404_not_a_new_row(app, client_for):
    c = client_for("procadmin")
    resp = c.post("/labels/library", data={"id": "999999", "name": "新标签", "category": "risk"})
    assert resp.status_code == 404 and "标签不存在" in page_text(resp)
    resp = c.post("/triggers/scenarios", data={"id": "999999", "code": "s", "name": "场景"})
    assert resp.status_code == 404 and "场景不存在" in page_text(resp)
    resp = c.post("/triggers/rules", data={"id": "abc", "code": "r"})
    assert resp.status_code == 422 and "规则应为" in page_text(resp)


def test_form_row_and_parse_date(ctx):
    assert form_row(User, MultiDict({"id": " "}), label="账号") is None
    assert form_row(User, MultiDict({"id": str(user("admin").id)}), label="账号").login == "admin"
    assert parse_date("2026-03-01", field="on", label="检查日期").isoformat() == "2026-03-01"
    assert parse_date("", field="on", label="检查日期") is None
    for bad in ("2026-02-30", "0001-01-01", "x"):
        with pytest.raises(ValidationFailed) as caught:
            parse_date(bad, field="on", label="检查日期")
        assert caught.value.message.startswith("检查日期格式应为 YYYY-MM-DD") and caught.value.errors == {
            "on": "日期格式不正确"
        }


def test_service_helpers(ctx):
    with pytest.raises(NotFound) as caught:
        linked(User, {"user_id": 999999}, "user_id", "账号")
    assert caught.value.message == "流程关联的账号不存在"
    assert linked(User, {"user_id": user("admin").id}, "user_id", "账号").login == "admin"
    assert last_actor({"last_actor": "system"}) is None and last_actor({}) is None
    assert last_actor({"last_actor": "hp_officer"}).name == "黄浦队员"
