"""Attack: undoing 三员分立 (issue 14). Each test is the attacker's request; the service refuses it in Chinese,
nothing changes, and /audit, /security/users stay closed to the attacker."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import Role
from app.extensions import db
from app.orgs.models import Organisation
from tests.conftest import page_text, user


def _form(u, roles, **extra):
    return {"name": u.name, "org_id": u.org_id, "roles": roles, "status": "active", **extra}


def test_system_admin_cannot_give_itself_the_other_admin_roles(app, login_as, ctx):
    c = login_as("admin")
    me = user("admin")
    for roles in (["sys_admin", "sec_admin"], ["sys_admin", "audit_admin"], ["audit_admin"]):
        resp = c.post(f"/admin/users/{me.id}", data=_form(me, roles))
        assert resp.status_code in (403, 422) and "三员分立" in page_text(resp), roles
    db.session.expire_all()
    assert user("admin").role_codes == {"sys_admin"}
    assert c.get("/audit").status_code == 403 and c.get("/security/users").status_code == 403


def test_system_admin_cannot_grant_admin_roles_to_others(app, login_as, ctx):
    c = login_as("admin")
    target = user("hp_officer")
    resp = c.post(f"/admin/users/{target.id}", data=_form(target, ["district_officer", "audit_admin"]))
    assert resp.status_code == 403 or resp.status_code == 422
    assert "管理类角色（审计管理员）只能由安全管理员分配或撤销" in page_text(resp)
    hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
    new = c.post(
        "/admin/users/new",
        data={"login": "mole", "name": "内鬼", "org_id": hp.id, "password": "Zs#Pass2026", "roles": ["sec_admin"]},
    )
    assert new.status_code in (403, 422) and "只能由安全管理员分配" in page_text(new)
    db.session.expire_all()
    assert user("hp_officer").role_codes == {"district_officer"} and user("mole") is None
    # ... and cannot withdraw one either (the auditor keeps its role)
    auditor = user("auditor")
    resp = c.post(f"/admin/users/{auditor.id}", data=_form(auditor, []))
    assert "只能由安全管理员分配或撤销" in page_text(resp)
    db.session.expire_all()
    assert user("auditor").role_codes == {"audit_admin"}


def test_system_admin_form_keeps_admin_roles_it_cannot_change(app, login_as, ctx):
    c = login_as("admin")
    page = page_text(c.get(f"/admin/users/{user('auditor').id}"))
    assert "三员分立规则" in page and 'name="roles" value="audit_admin"' in page  # hidden, locked
    auditor = user("auditor")
    resp = c.post(f"/admin/users/{auditor.id}", data=_form(auditor, ["audit_admin"], position="审计岗"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert user("auditor").position == "审计岗" and user("auditor").role_codes == {"audit_admin"}


def test_security_admin_cannot_extend_its_own_role(app, login_as, ctx):
    c = login_as("secadmin")
    for perms in (["role.admin", "security.admin", "audit.read"], ["role.admin", "security.admin", "user.admin"]):
        resp = c.post("/admin/roles/sec_admin", data={"name": "安全管理员", "permissions": perms})
        assert resp.status_code in (403, 422) and "三员分立" in page_text(resp)
    db.session.expire_all()
    assert set(db.session.scalar(select(Role).where(Role.code == "sec_admin")).permissions) == {
        "role.admin",
        "security.admin",
    }
    assert c.get("/audit").status_code == 403 and c.get("/audit/export.csv").status_code == 403
    assert c.get("/admin/users").status_code == 403


def test_admin_permission_sets_cannot_be_merged_into_one_role(app, login_as, ctx):
    c = login_as("secadmin")
    merged = c.post(
        "/admin/roles/audit_admin", data={"name": "审计管理员", "permissions": ["audit.read", "user.admin"]}
    )
    assert merged.status_code == 422 and "不能同时拥有系统管理员、审计管理员的权限" in page_text(merged)
    new = c.post(
        "/admin/roles/new", data={"code": "super", "name": "超级", "permissions": ["role.admin", "audit.read"]}
    )
    assert new.status_code == 422 and "三员分立" in page_text(new)
    assert db.session.scalar(select(Role).where(Role.code == "super")) is None


def test_security_admin_assigns_admin_roles_but_never_to_itself_or_merged(app, login_as, ctx):
    c = login_as("secadmin")
    me, sysadmin, officer = user("secadmin"), user("admin"), user("hp_officer")
    assert "三员分立规则" in page_text(c.get("/security/users"))
    own = c.post(f"/security/users/{me.id}/roles", data={"roles": ["sec_admin", "audit_admin"]})
    assert own.status_code in (403, 422) and "不能修改自己的角色" in page_text(own)
    both = c.post(f"/security/users/{sysadmin.id}/roles", data={"roles": ["sys_admin", "audit_admin"]})
    assert both.status_code == 422 and "不能同时担任系统管理员、审计管理员" in page_text(both)
    ok = c.post(f"/security/users/{officer.id}/roles", data={"roles": ["audit_admin"]})
    assert ok.status_code == 302
    db.session.expire_all()
    assert user("hp_officer").role_codes == {"district_officer", "audit_admin"}
    assert user("secadmin").role_codes == {"sec_admin"} and user("admin").role_codes == {"sys_admin"}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.roles")).one()
    assert entry.actor_login == "secadmin" and entry.detail["after"] == ["audit_admin", "district_officer"]
    # a business role held by that auditor can no longer be given system-administrator permissions
    widened = c.post(
        "/admin/roles/district_officer",
        data={"name": "大队执法人员", "permissions": ["inbox.use", "user.admin"]},
    )
    assert widened.status_code == 422 and "hp_officer" in page_text(widened)


def test_role_changes_are_audited(app, login_as, ctx):
    c = login_as("secadmin")
    c.post("/admin/roles/street_officer", data={"name": "街镇工作人员", "permissions": ["inbox.use"]})
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "role.save")).one()
    assert entry.actor_login == "secadmin" and entry.detail["after"] == ["inbox.use"]
    for path in ("/admin/roles", "/admin/roles/street_officer"):
        assert "三员分立规则" in page_text(c.get(path))
