"""What the BPMN properties panel needs to show names instead of codes: roles, people, organisations,
forms (with their fields), decisions, callable processes and service operators of a workspace."""

from __future__ import annotations

import json

from lxml import etree
from sqlalchemy import select

from app import names
from app.auth.models import Role, User
from app.engine.models import ProcessModel
from app.engine.services import registered
from app.extensions import db
from app.orgs.models import Organisation
from app.processes.workspace import Workspace, _parse_or_none


def _form_fields(text: str) -> list[list[str]]:
    try:
        schema = json.loads(text)
    except ValueError:
        return []
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return []
    return [[key, str((spec or {}).get("title") or key)] for key, spec in props.items() if isinstance(spec, dict)]


def _form_title(name: str, text: str) -> str:
    try:
        schema = json.loads(text)
    except ValueError:
        return name
    return str(schema.get("title") or name) if isinstance(schema, dict) else name


def _decisions(ws: Workspace) -> list[dict]:
    out = []
    for f in ws.by_kind("dmn"):
        root = _parse_or_none(f.text)
        if root is None:
            continue
        for d in root:
            if etree.QName(d).localname == "decision" and d.get("id"):
                out.append({"id": d.get("id"), "name": d.get("name") or d.get("id"), "file": f.name})
    return out


def editor_config(ws: Workspace) -> dict:
    """The lists behind the pickers of the properties panel: value = the code the runtime reads."""
    roles = [{"code": r.code, "name": r.name} for r in db.session.scalars(select(Role).order_by(Role.id))]
    orgs = db.session.execute(
        select(Organisation.id, Organisation.code, Organisation.name, Organisation.path)
        .where(Organisation.active.is_(True))
        .order_by(Organisation.path)
    ).all()
    org_by_id = {o.id: o for o in orgs}
    users = db.session.execute(
        select(User.login, User.name, User.org_id).where(User.status != "disabled").order_by(User.org_id, User.id)
    ).all()
    forms = []
    for f in ws.by_kind("form"):
        if f.name.endswith(".uischema.json"):
            forms.append({"file": f.name, "title": f.name, "ui": True, "fields": []})
        else:
            title = _form_title(f.name, f.text)
            forms.append({"file": f.name, "title": title, "ui": False, "fields": _form_fields(f.text)})
    rows = db.session.execute(select(ProcessModel.process_id, ProcessModel.name).order_by(ProcessModel.name))
    processes = [{"id": pid, "name": name} for pid, name in rows]
    return {
        "roles": roles,
        "orgs": [{"code": o.code, "name": o.name, "depth": o.path.count("/") - 2} for o in orgs],
        "users": [
            {"login": u.login, "name": u.name, "org": org_by_id[u.org_id].code if u.org_id in org_by_id else ""}
            for u in users
        ],
        "forms": forms,
        "decisions": _decisions(ws),
        "processes": processes,
        "services": [{"id": s, "name": names.service(s)} for s in registered()],
    }
