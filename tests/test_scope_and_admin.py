"""The data-scope function for every kind of organisation, and the admin pages' permission checks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.enterprises.models import Enterprise
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import scope_for
from tests.conftest import page_text, user


def _visible_org_codes(login: str) -> set[str]:
    stmt = scope_for(user(login)).filter_org(select(Organisation.code), Organisation.id)
    return set(db.session.scalars(stmt))


@pytest.mark.parametrize(
    ("login", "sees", "does_not_see"),
    [
        ("leader", {"SHYJ", "310101", "310104", "SOE-JS", "SOE-JS-01"}, set()),  # city corps
        ("chief", {"SHYJ", "310101", "SOE-JS"}, set()),  # a city section sees the city's scope
        ("hp_leader", {"310101"}, {"SHYJ", "310104", "SOE-JS"}),  # district: own subtree
        ("hp_street", set(), {"310101", "310104", "SHYJ"}),  # street: only itself
        ("soe", {"SOE-JS", "SOE-JS-01"}, {"SOE-CT", "310101", "SHYJ"}),  # SOE group: group and units
        ("soe_unit", {"SOE-JS-01"}, {"SOE-JS", "SOE-JS-02"}),  # SOE member unit: itself
    ],
)
def test_scope_per_kind(ctx, login, sees, does_not_see):
    visible = _visible_org_codes(login)
    assert sees <= visible
    assert not (does_not_see & visible)
    me = user(login)
    assert me.org.code in visible


def test_district_scope_includes_its_streets(ctx):
    hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
    streets = {o.code for o in hp.children}
    assert streets and streets <= _visible_org_codes("hp_leader")
    assert not streets & _visible_org_codes("xh_leader")


def test_street_scope_is_its_own_node(ctx):
    me = user("hp_street")
    assert _visible_org_codes("hp_street") == {me.org.code}


def test_scope_filters_scoped_rows(ctx):
    orgs = {o.code: o for o in db.session.scalars(select(Organisation))}
    hp_street = next(o for o in orgs.values() if o.parent_id == orgs["310101"].id)
    xh_street = next(o for o in orgs.values() if o.parent_id == orgs["310104"].id)
    db.session.add_all(
        [
            Enterprise(
                credit_code="91310101MA1FL0001X", name="黄浦甲公司", org_id=hp_street.id, district_code="310101"
            ),
            Enterprise(
                credit_code="91310104MA1FL0002X", name="徐汇乙公司", org_id=xh_street.id, district_code="310104"
            ),
        ]
    )
    db.session.flush()

    def names(login):
        stmt = scope_for(user(login)).filter_org(select(Enterprise.name), Enterprise.org_id)
        return set(db.session.scalars(stmt))

    assert names("leader") == {"黄浦甲公司", "徐汇乙公司"}
    assert names("hp_leader") == {"黄浦甲公司"}
    assert names("xh_officer") == {"徐汇乙公司"}
    assert names("soe") == set()


def test_anonymous_has_empty_scope(ctx):
    from flask_login import AnonymousUserMixin

    scope = scope_for(AnonymousUserMixin())
    assert not scope.all and db.session.scalars(scope.filter_org(select(Organisation.id), Organisation.id)).all() == []


@pytest.mark.parametrize("path", ["/admin/users", "/admin/orgs", "/admin/roles", "/admin/users/new"])
def test_admin_pages_refuse_non_admins(login_as, path):
    resp = login_as("hp_officer").get(path)
    assert resp.status_code == 403
    assert "没有权限" in page_text(resp)


def test_separation_of_admin_duties(login_as):
    sys_admin = login_as("admin")
    assert sys_admin.get("/admin/users").status_code == 200
    assert sys_admin.get("/admin/roles").status_code == 403  # roles belong to the security administrator
    sec_admin = login_as("secadmin")
    assert sec_admin.get("/admin/roles").status_code == 200
    assert sec_admin.get("/admin/users").status_code == 403
    auditor = login_as("auditor")
    assert auditor.get("/admin/users").status_code == 403
    assert auditor.get("/admin/roles").status_code == 403


def test_admin_creates_user_with_policy_and_audit(app, login_as):
    c = login_as("admin")
    with app.app_context():
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
    weak = c.post(
        "/admin/users/new",
        data={"login": "zhang3", "name": "张三", "org_id": hp.id, "password": "123", "roles": ["district_officer"]},
    )
    assert weak.status_code == 422 and "密码长度至少" in page_text(weak)
    ok = c.post(
        "/admin/users/new",
        data={
            "login": "zhang3",
            "name": "张三",
            "org_id": hp.id,
            "password": "Zs#Pass2026",
            "roles": ["district_officer"],
        },
    )
    assert ok.status_code == 302
    dup = c.post(
        "/admin/users/new",
        data={
            "login": "ZHANG3",
            "name": "张三",
            "org_id": hp.id,
            "password": "Zs#Pass2026",
            "roles": ["district_officer"],
        },
    )
    assert dup.status_code == 422 and "已被使用" in page_text(dup)
    with app.app_context():
        created = db.session.scalar(select(User).where(User.login == "zhang3"))
        assert created.org.code == "310101" and created.role_codes == {"district_officer"}
        assert created.must_change_password
        from app.audit.models import AuditEntry

        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create")) is not None


def test_district_admin_manages_only_its_scope(app, login_as):
    c = login_as("hp_admin")
    listing = page_text(c.get("/admin/users"))
    assert "黄浦队员" in listing and "徐汇队员" not in listing
    with app.app_context():
        xh_user = user("xh_officer").id
        xh = db.session.scalar(select(Organisation).where(Organisation.code == "310104")).id
    assert c.get(f"/admin/users/{xh_user}").status_code == 404
    resp = c.post(
        "/admin/users/new",
        data={
            "login": "intruder",
            "name": "越权",
            "org_id": xh,
            "password": "Zs#Pass2026",
            "roles": ["district_officer"],
        },
    )
    assert resp.status_code in (404, 422)
    with app.app_context():
        assert user("intruder") is None


def test_org_admin_creates_street_and_refuses_bad_kind(app, login_as):
    c = login_as("admin")
    with app.app_context():
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101")).id
    bad = c.post("/admin/orgs", data={"parent_id": hp, "kind": "soe_unit", "code": "X1", "name": "错误"})
    assert bad.status_code == 422 and "不能设在" in page_text(bad)
    ok = c.post("/admin/orgs", data={"parent_id": hp, "kind": "street", "code": "310101999", "name": "测试街道"})
    assert ok.status_code == 302
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == "310101999"))
        assert org.path.endswith("/310101/310101999/") and org.district_code == "310101"


def test_role_edit_changes_permissions(app, login_as):
    c = login_as("secadmin")
    resp = c.post("/admin/roles/street_officer", data={"name": "街镇工作人员", "permissions": ["inbox.use"]})
    assert resp.status_code == 302
    bad = c.post("/admin/roles/street_officer", data={"name": "x", "permissions": ["no.such"]})
    assert bad.status_code == 422 and "未知权限" in page_text(bad)
    with app.app_context():
        assert user("hp_street").permissions == {"inbox.use"}


def test_user_list_filters_in_query(login_as):
    c = login_as("admin")
    text = page_text(c.get("/admin/users?role=district_leader"))
    assert "黄浦大队长" in text and "徐汇大队长" in text and "黄浦队员" not in text
