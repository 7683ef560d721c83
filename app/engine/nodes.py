"""Per-node settings of a user task, read from its spiffworkflow:properties (edited in the admin panel).

| property            | values                                                                 |
|---------------------|------------------------------------------------------------------------|
| assignee            | role:<code> or role:{field} (default: the lane), leader, leader_up:<n>, |
|                     | users:<a,b>,                                                           |
|                     | field:<data field with login(s)>, initiator, expr:<python expression>  |
| method              | single, all (会签), any (或签), sequential (依次), ratio:<percent> (比例) |
| orgField            | data field holding the organisation code the task belongs to (派单)     |
| onNoApprover        | auto_approve, auto_reject, user:<login>, admin (default)               |
| onInitiator         | self (default), skip, leader                                           |
| autoPass            | never (default), consecutive, always                                   |
| dueDays / dueWorkingDays | deadline of the task (calendar / working days): a number or an     |
|                     | expression over the task data, e.g. a DMN output `deadline_workdays`   |
| remindTimes         | reminders before the timeout action (default 1)                        |
| timeoutAction       | none (default), auto_approve, auto_reject, escalate                    |
| reasonRequired      | approve,reject (which decisions need a comment)                        |
| buttons             | approve:通过,reject:拒绝,return:退回,... (which buttons and their labels) |
| fieldPermissions    | field:readonly|edit|hidden, ... (form fields per node)                 |
| rejectPolicy        | continue (default: the diagram routes on `approved`), terminate,       |
|                     | return:<step id>, return:initiator                                     |
| returnDirect        | true: a resubmission after 退回 goes straight back to the returning node |
| kind                | approval (approve/reject buttons) or task (a submit button)            |
| signature           | true: ask for a handwritten signature                                  |
| priority            | 1 high, 2 normal, 3 low                                                |
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BUTTONS = {
    "approval": ["approve", "reject", "return", "transfer", "delegate", "add_sign", "cc", "draft"],
    "task": ["complete", "return", "transfer", "delegate", "cc", "draft"],
}

BUTTON_LABELS = {
    "approve": "通过",
    "reject": "拒绝",
    "complete": "提交",
    "return": "退回",
    "transfer": "转办",
    "delegate": "委派",
    "add_sign": "加签",
    "cc": "抄送",
    "draft": "暂存",
    "terminate": "终止",
}


@dataclass
class NodeConfig:
    kind: str = "task"
    assignee: str | None = None
    method: str = "single"
    ratio: int = 100
    org_field: str | None = None
    on_no_approver: str = "admin"
    on_initiator: str = "self"
    auto_pass: str = "never"
    due_days: int | str | None = None  # a number, or an expression evaluated on the task's data
    due_working_days: int | str | None = None
    remind_times: int = 1
    timeout_action: str = "none"
    reason_required: set[str] = field(default_factory=set)
    buttons: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    field_permissions: dict[str, str] = field(default_factory=dict)
    reject_policy: str = "continue"
    return_direct: bool = False
    signature: bool = False
    priority: int = 2

    def label(self, button: str) -> str:
        return self.labels.get(button) or BUTTON_LABELS.get(button, button)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _int_or_expression(value: str | None) -> int | str | None:
    value = (value or "").strip()
    if not value:
        return None
    number = _int(value)
    return number if number is not None else value


def _pairs(value: str | None) -> list[tuple[str, str]]:
    out = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, _, val = part.partition(":")
        out.append((key.strip(), val.strip()))
    return out


def node_config(properties: dict | None) -> NodeConfig:
    p = properties or {}
    cfg = NodeConfig()
    cfg.kind = p.get("kind") or ("approval" if p.get("method") else "task")
    cfg.assignee = p.get("assignee") or None
    method = (p.get("method") or "single").strip()
    if method.startswith("ratio"):
        cfg.method, cfg.ratio = "ratio", _int(method.partition(":")[2]) or 50
    else:
        cfg.method = method if method in ("single", "all", "any", "sequential") else "single"
    cfg.org_field = p.get("orgField") or None
    cfg.on_no_approver = p.get("onNoApprover") or "admin"
    cfg.on_initiator = p.get("onInitiator") or "self"
    cfg.auto_pass = p.get("autoPass") or "never"
    cfg.due_days = _int_or_expression(p.get("dueDays"))
    cfg.due_working_days = _int_or_expression(p.get("dueWorkingDays"))
    remind = _int(p.get("remindTimes"))
    cfg.remind_times = 1 if remind is None else max(0, remind)
    cfg.timeout_action = p.get("timeoutAction") or "none"
    cfg.reason_required = {x.strip() for x in (p.get("reasonRequired") or "").split(",") if x.strip()}
    pairs = _pairs(p.get("buttons"))
    cfg.buttons = [k for k, _ in pairs] or list(DEFAULT_BUTTONS[cfg.kind if cfg.kind in DEFAULT_BUTTONS else "task"])
    cfg.labels = {k: v for k, v in pairs if v}
    cfg.field_permissions = {k: v for k, v in _pairs(p.get("fieldPermissions")) if v in ("readonly", "edit", "hidden")}
    cfg.reject_policy = p.get("rejectPolicy") or "continue"
    cfg.return_direct = (p.get("returnDirect") or "").lower() == "true"
    cfg.signature = (p.get("signature") or "").lower() == "true"
    cfg.priority = _int(p.get("priority")) or 2
    return cfg
