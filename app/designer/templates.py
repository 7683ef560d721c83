"""Starting points for the common supervisory patterns (trees; the process id is filled in by the admin).

Forms come from forms/: ``simple_request`` (事项申请), ``simple_dispatch`` (派单), ``simple_feedback``
(办理反馈). Approvers are named by rule (leader, leader_up, role, initiator), never by login, so a
template works in every installation.
"""

from __future__ import annotations

import copy

from app.designer.tree import normalize

REQUEST = "simple_request.schema.json"
REQUEST_UI = "simple_request.uischema.json"
DISPATCH = "simple_dispatch.schema.json"
DISPATCH_UI = "simple_dispatch.uischema.json"
FEEDBACK = "simple_feedback.schema.json"
FEEDBACK_UI = "simple_feedback.uischema.json"
REQUEST_READONLY = "subject:readonly,category:readonly,amount:readonly,description:readonly"


def _approval(node_id: str, name: str, assignee: str, **props: str) -> dict:
    base = {
        "assignee": assignee,
        "method": "single",
        "formJsonSchemaFilename": REQUEST,
        "formUiSchemaFilename": REQUEST_UI,
        "fieldPermissions": REQUEST_READONLY,
        "reasonRequired": "reject",
        "rejectPolicy": "end",
    }
    base.update(props)
    return {"id": node_id, "type": "approval", "name": name, "props": base}


def _tree(name: str, nodes: list[dict], *, form: str = REQUEST, roles: list[str] | None = None) -> dict:
    return {
        "process": {"id": "", "name": name, "props": {"titleRule": "{subject}"}},
        "start": {"id": "start", "name": "发起人", "roles": roles or [], "form": form},
        "nodes": nodes,
        "end": {"id": "end", "name": "结束"},
    }


TEMPLATES: dict[str, dict] = {
    "blank": {
        "name": "空白审批",
        "description": "发起人填写事项申请，直属领导审批。从这里开始搭建自己的流程。",
        "tree": _tree("新建审批", [_approval("approve_leader", "直属领导审批", "leader")]),
    },
    "two_level": {
        "name": "二级审批",
        "description": "直属领导审批后，再由上一级领导审批；任一级拒绝即结束，连续审批自动通过。",
        "tree": _tree(
            "二级审批",
            [
                _approval("approve_first", "一级审批（直属领导）", "leader", onInitiator="skip", dueWorkingDays="3"),
                _approval(
                    "approve_second", "二级审批（上级领导）", "leader_up:1", autoPass="consecutive", dueWorkingDays="3"
                ),
            ],
        ),
    },
    "district_city": {
        "name": "区级→市级审批",
        "description": "区执法大队领导审批，报总队处室审核；金额在 10 万元以上的再报总队领导审批。",
        "tree": _tree(
            "区级→市级审批",
            [
                _approval("approve_district", "区级审批", "role:district_leader", dueWorkingDays="2"),
                _approval("review_city", "市级处室审核", "role:section_chief", dueWorkingDays="3"),
                {
                    "id": "amount_branch",
                    "type": "condition",
                    "name": "按金额",
                    "branches": [
                        {
                            "id": "large_amount",
                            "name": "10万元以上",
                            "condition": {
                                "match": "all",
                                "rules": [{"field": "amount", "op": ">=", "value": 100000}],
                            },
                            "nodes": [
                                _approval("approve_city", "市级领导审批", "role:city_leader", dueWorkingDays="3")
                            ],
                        },
                        {"id": "other_amount", "name": "其他情况", "condition": None, "nodes": []},
                    ],
                },
            ],
            roles=["district_officer", "district_leader"],
        ),
    },
    "dispatch_feedback": {
        "name": "派单与反馈",
        "description": "总队派单经处室审核后交承办单位办理，承办单位反馈结果，派单人审核，不合格退回重办。",
        "tree": _tree(
            "派单与反馈",
            [
                _approval(
                    "review_dispatch",
                    "派单审核",
                    "role:section_chief",
                    formJsonSchemaFilename=DISPATCH,
                    formUiSchemaFilename=DISPATCH_UI,
                    fieldPermissions="subject:readonly,target_org:readonly,deadline:readonly,content:readonly",
                ),
                {
                    "id": "handle",
                    "type": "task",
                    "name": "承办单位办理",
                    "props": {
                        "assignee": "role:district_officer",
                        "orgField": "target_org",
                        "formJsonSchemaFilename": FEEDBACK,
                        "formUiSchemaFilename": FEEDBACK_UI,
                        "dueWorkingDays": "5",
                    },
                },
                _approval(
                    "check_feedback",
                    "反馈审核",
                    "initiator",
                    formJsonSchemaFilename=FEEDBACK,
                    formUiSchemaFilename=FEEDBACK_UI,
                    fieldPermissions="result:readonly,done:readonly",
                    rejectPolicy="return:handle",
                    onInitiator="self",
                ),
            ],
            form=DISPATCH,
            roles=["city_officer"],
        ),
    },
}


def template_tree(key: str) -> dict:
    """A fresh, normalized copy of a template's tree (KeyError for an unknown key)."""
    return normalize(copy.deepcopy(TEMPLATES[key]["tree"]))


def catalogue() -> list[dict]:
    return [{"key": k, "name": t["name"], "description": t["description"]} for k, t in TEMPLATES.items()]
