"""Admin pages for organisations, users and roles. Each view: load, check, one service, commit, render."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import separation
from app.auth import services as accounts
from app.auth.models import USER_STATUS, User
from app.auth.permissions import PERMISSIONS
from app.errors import DomainError, NotFound
from app.extensions import db
from app.orgs import services as orgs
from app.orgs.models import ORG_KINDS
from app.portal import params
from app.portal.paging import paginate
from app.security.access import permission_required
from app.security.scope import scope_for

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_context_processor
def _separation_rule() -> dict:
    return {"separation_rule": separation.RULE_LINES}


def _form_errors(exc: DomainError) -> dict:
    db.session.rollback()
    errors = dict(exc.errors)
    if not errors or exc.message != exc.default_message:
        errors.setdefault("_", exc.message)
    return errors


@bp.route("/orgs", methods=["GET", "POST"])
@permission_required("org.admin")
def org_list():
    scope = scope_for(current_user)
    errors: dict = {}
    if request.method == "POST":
        try:
            parent = orgs.get_org(int(request.form.get("parent_id") or 0), scope)
            org = orgs.create_org(
                code=request.form.get("code", ""),
                name=request.form.get("name", ""),
                kind=request.form.get("kind", ""),
                parent=parent,
                actor=current_user,
            )
        except DomainError as exc:
            errors = _form_errors(exc)
        else:
            db.session.commit()
            flash(f"已新增机构：{org.name}", "success")
            return redirect(url_for(".org_list"))
    items = orgs.list_orgs(scope, kind=request.args.get("kind") or None, q=request.args.get("q") or None)
    return render_template(
        "admin/orgs.html", items=items, kinds=ORG_KINDS, errors=errors, parents=orgs.list_orgs(scope)
    ), (422 if errors else 200)


@bp.route("/orgs/<int:org_id>", methods=["GET", "POST"])
@permission_required("org.admin")
def org_edit(org_id: int):
    org = orgs.get_org(org_id, scope_for(current_user))
    errors: dict = {}
    if request.method == "POST":
        try:
            orgs.rename_org(
                org, name=request.form.get("name", ""), active=bool(request.form.get("active")), actor=current_user
            )
        except DomainError as exc:
            errors = _form_errors(exc)
        else:
            db.session.commit()
            flash("机构信息已保存", "success")
            return redirect(url_for(".org_list"))
    return render_template("admin/org_edit.html", org=org, errors=errors), (422 if errors else 200)


@bp.get("/users")
@permission_required("user.admin")
def user_list():
    scope = scope_for(current_user)
    org_id = request.args.get("org_id")
    stmt = accounts.users_query(
        scope,
        q=(request.args.get("q") or "").strip(),
        org=orgs.get_org(params.int_id(org_id, "org_id"), scope) if org_id else None,
        role=request.args.get("role") or None,
        status=request.args.get("status") or None,
    )
    page = paginate(stmt, request.args.get("page"))
    return render_template(
        "admin/users.html", page=page, roles=accounts.all_roles(), statuses=USER_STATUS, orgs=orgs.list_orgs(scope)
    )


def _user_form_values() -> dict:
    f = request.form
    return {
        "name": f.get("name", ""),
        "roles": f.getlist("roles"),
        "phone": f.get("phone") or None,
        "position": f.get("position") or None,
        "is_leader": bool(f.get("is_leader")),
    }


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("user.admin")
def user_new():
    scope = scope_for(current_user)
    errors: dict = {}
    if request.method == "POST":
        try:
            org = orgs.get_org(int(request.form.get("org_id") or 0), scope)
            user = accounts.create_user(
                login=request.form.get("login", ""),
                org=org,
                password=request.form.get("password", ""),
                actor=current_user,
                **_user_form_values(),
            )
        except DomainError as exc:
            errors = _form_errors(exc)
        else:
            db.session.commit()
            flash(f"已创建账号：{user.login}（首次登录须修改密码）", "success")
            return redirect(url_for(".user_list"))
    return _user_form(None, errors)


def _user_form(user: User | None, errors: dict):
    roles = accounts.all_roles()
    return render_template(
        "admin/user_form.html",
        user=user,
        roles=roles,
        admin_role_codes={r.code for r in roles if separation.is_admin_role(r)},
        statuses=USER_STATUS,
        orgs=orgs.list_orgs(scope_for(current_user)),
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)


def _scoped_user(user_id: int) -> User:
    user = accounts.get_user(user_id)
    if not scope_for(current_user).contains(user.org):
        raise NotFound("用户不存在或不在您的数据范围内")
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("user.admin")
def user_edit(user_id: int):
    user = _scoped_user(user_id)
    errors: dict = {}
    if request.method == "POST":
        try:
            org = orgs.get_org(int(request.form.get("org_id") or 0), scope_for(current_user))
            accounts.update_user(
                user, actor=current_user, org=org, status=request.form.get("status", "active"), **_user_form_values()
            )
        except DomainError as exc:
            errors = _form_errors(exc)
        else:
            db.session.commit()
            flash("账号已保存", "success")
            return redirect(url_for(".user_list"))
    return _user_form(user, errors)


@bp.post("/users/<int:user_id>/password")
@permission_required("user.admin")
def user_reset_password(user_id: int):
    user = _scoped_user(user_id)
    try:
        accounts.reset_password(user, actor=current_user, new_password=request.form.get("password", ""))
    except DomainError as exc:
        return _user_form(user, _form_errors(exc))
    db.session.commit()
    flash(f"已重置 {user.login} 的密码，用户下次登录须修改", "success")
    return redirect(url_for(".user_edit", user_id=user.id))


@bp.get("/roles")
@permission_required("role.admin")
def role_list():
    return render_template(
        "admin/roles.html", roles=accounts.all_roles(), counts=accounts.role_user_counts(), permissions=PERMISSIONS
    )


@bp.route("/roles/<code>", methods=["GET", "POST"])
@permission_required("role.admin")
def role_edit(code: str):
    role = None if code == "new" else accounts.role_by_code(code)
    if code != "new" and role is None:
        raise NotFound("角色不存在")
    errors: dict = {}
    if request.method == "POST":
        try:
            role = accounts.save_role(
                actor=current_user,
                role=role,
                code=role.code if role else request.form.get("code", ""),
                name=request.form.get("name", ""),
                description=request.form.get("description", ""),
                permissions=request.form.getlist("permissions"),
            )
        except DomainError as exc:
            errors = _form_errors(exc)
        else:
            db.session.commit()
            flash("角色已保存", "success")
            return redirect(url_for(".role_list"))
    return render_template(
        "admin/role_form.html", role=role, permissions=PERMISSIONS, errors=errors, form=request.form
    ), (422 if errors else 200)


from app.admin import user_import  # noqa: E402  (routes registered on this blueprint)

user_import.register(bp)
