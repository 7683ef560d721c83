"""Helpers of the API tests: a process with a start form, service accounts with tokens, bearer clients."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from tests import bpmn_builder
from tests.conftest import user

START_FORM = '<spiffworkflow:property name="startForm" value="t_fill.schema.json" />'


def deploy_flow(pid: str = "api_flow", nodes=None, *, start_roles: str | None = None):
    """fill (initiator) -> nodes (default: one approval by the district leader) -> archive; a start form."""
    nodes = nodes or [("node", "审批", {"assignee": "role:district_leader"})]
    xml = bpmn_builder.linear(pid, nodes)
    extra = START_FORM + (f'<spiffworkflow:property name="startRoles" value="{start_roles}" />' if start_roles else "")
    xml = xml.replace('<spiffworkflow:property name="titleRule"', extra + '<spiffworkflow:property name="titleRule"', 1)
    return bpmn_builder.deploy_xml(pid, xml)


def open_rows(app, instance_id: int) -> list[HumanTask]:
    with app.app_context():
        rows = db.session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status.in_(("open", "pending")))
        ).all()
        db.session.expunge_all()
        return list(rows)


def issue_token(
    app, login: str, *, org: str, roles: list[str], permissions: list[str] | None = None, scope: str | None = None
) -> str:
    """Create a service account (by the security administrator) and issue a token; returns its text."""
    from app.orgs.models import Organisation
    from app.security import tokens

    with app.app_context():
        admin = user("secadmin")
        org_row = db.session.scalar(select(Organisation).where(Organisation.code == org))
        account = tokens.create_service_account(admin, login=login, name=f"服务账号{login}", org=org_row, roles=roles)
        scope_row = db.session.scalar(select(Organisation).where(Organisation.code == scope)) if scope else None
        _token, text = tokens.issue(
            admin,
            account=account,
            name=f"{login} 的令牌",
            permissions=permissions or sorted(account.permissions),
            scope_org=scope_row,
            days=30,
        )
        db.session.commit()
        return text


class Bearer:
    """A test client that sends a bearer token and no cookies."""

    def __init__(self, app, token: str):
        self.client = app.test_client(use_cookies=False)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post(path, headers=self.headers, **kw)
