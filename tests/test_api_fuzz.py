"""Fuzz the JSON API from its own OpenAPI document (schemathesis): for every operation, generated valid
and invalid requests, sent with a service-account token, must never give a 500, and every response must
match the documented status codes, content type and schema. Bounded: a few examples per operation, no
shrinking, so it runs in the suite in seconds."""

from __future__ import annotations

import io

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import Attachment, HumanTask
from tests.api_helpers import Bearer, deploy_flow, issue_token

EXAMPLES = 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _document() -> dict:
    """The OpenAPI document, built at collection time from an app without a database (it needs none)."""
    import tempfile

    from app import create_app
    from app.api.openapi import spec_dict

    tmp = tempfile.mkdtemp(prefix="ducha-openapi-")
    doc_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/none.db", "INSTANCE_DIR": tmp})
    with doc_app.test_request_context():
        return spec_dict()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def fuzz_headers(app):
    """A deployed process with a few instances at different steps; a token's headers."""
    with app.app_context():
        deploy_flow()
    token = issue_token(app, "svc_fuzz", org="310101", roles=["district_officer", "district_leader"])
    api = Bearer(app, token)
    for n in range(3):
        started = api.post("/api/v1/processes/api_flow/instances", json={"data": {"subject": f"模糊测试{n}"}})
        assert started.status_code == 201
        body = started.get_json()
        if n:
            fill = body["tasks"][0]["id"]
            api.post(f"/api/v1/tasks/{fill}/complete", json={"action": "complete", "data": {"subject": "已填"}})
        api.post(
            f"/api/v1/instances/{body['instance']['id']}/attachments",
            data={"file": (io.BytesIO(PNG), "图.png")},
            content_type="multipart/form-data",
        )
    return api.headers


def _existing(model, column) -> list[int]:
    return list(db.session.scalars(select(column).order_by(column)))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(app, fuzz_headers, case):
    # Most generated ids name nothing (404); point integer ids at objects that exist, so the acts run too.
    with app.app_context():
        ids = {
            "task_id": _existing(HumanTask, HumanTask.id),
            "instance_id": _existing(ProcessInstance, ProcessInstance.id),
            "attachment_id": _existing(Attachment, Attachment.id),
        }
    for name, existing in ids.items():
        value = (case.path_parameters or {}).get(name)
        if isinstance(value, int) and existing and value % 4:
            case.path_parameters[name] = existing[value % len(existing)]
    # positive_data_acceptance is left out on purpose: business rules (an unknown person, the task's own form,
    # a step already handled) are not in the OpenAPI schema, and their answer is a Chinese 422/409.
    case.operation.schema.app = app  # send through the WSGI app (the document was built without one)
    response = case.call_and_validate(
        app=app,
        base_url="http://localhost/api/v1",
        headers=dict(fuzz_headers),
        excluded_checks=[positive_data_acceptance],
    )
    assert response.status_code < 500
