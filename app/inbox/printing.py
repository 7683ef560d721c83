"""The approval record for 打印 and print.pdf: the forms' fields as people filled them in, and the history.

Sections follow the forms in the order the instance's steps used them; in each, the fields in the form's
order (``ui:order``) with their titles; each field once. Values are formatted for reading: dates as
``2026年11月20日``, enumerations by their titles, yes/no, lists of rows as tables, units, enterprises and
people by name, files by file name, personal data masked. Data that no form shows (engine keys, service
results) is not printed: it stays in the process administrator's data view.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from app.engine import deploy, forms, runtime
from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import OUTCOMES, HumanTask
from app.orgs.models import Organisation

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?$")
SENSITIVE_HINTS = ("phone", "id_number", "idcard", "id_card", "reporter")
EVENT_LABELS = {
    **OUTCOMES,
    "start": "发起",
    "complete": "提交",
    "approve": "审批通过",
    "reject": "审批拒绝",
    "cc": "抄送",
    "urge": "催办",
    "comment": "评论",
    "attach": "上传附件",
    "timer": "定时器触发",
    "terminate": "终止流程",
    "end": "流程办结",
    "reject_end": "流程结束（已拒绝）",
    "claim": "认领",
    "release": "释放",
    "remind": "超时提醒",
    "escalate": "超时升级",
    "suspend": "挂起",
    "resume": "恢复",
    "move": "移动节点",
    "retry": "重试",
}


@dataclass
class Row:
    label: str
    text: str = ""
    header: list[str] = field(default_factory=list)  # a list of rows: a table
    cells: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, "其他操作")


def record(instance: ProcessInstance) -> list[Section]:
    """The instance's form data as printed sections."""
    version = instance.spec_info
    data = runtime.instance_data(runtime.load(instance))
    info = deploy.task_info(version)
    used = db.session.scalars(
        select(HumanTask.step)
        .where(HumanTask.instance_id == instance.id, HumanTask.status == "completed")
        .order_by(HumanTask.completed_at, HumanTask.id)
    ).all()
    names = [t.get("form") for t in (info.get(step) or _by_bpmn(info, step) for step in used) if t.get("form")]
    shown: set[str] = set()
    sections = []
    for form_name in dict.fromkeys(names):
        schema = _json((version.forms or {}).get(form_name))
        if not schema:
            continue
        ui = _json((version.forms or {}).get(form_name.replace(".schema.json", ".uischema.json")))
        rows = []
        for f in forms.fields(schema, ui, values=data):
            if f.name in shown or _empty(f.value):
                continue
            shown.add(f.name)
            rows.append(_row(f, schema["properties"][f.name]))
        if rows:
            sections.append(Section(schema.get("title") or "表单", rows))
    return sections


def _by_bpmn(info: dict, step: str) -> dict:
    return next((i for i in info.values() if i.get("bpmn_id") == step), {})


def _json(text: str | None) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _row(f: forms.Field, prop: dict) -> Row:
    value = f.value
    if f.widget == "file" and isinstance(value, list):
        return Row(f.title, "、".join(str(a.get("name", "")) for a in value if isinstance(a, dict)))
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list((items.get("properties") or {}).items()) or [(k, k) for k in value[0]]
        header = [(p or {}).get("title", k) if isinstance(p, dict) else str(p) for k, p in columns]
        keys = [k for k, _p in columns]
        cells = [[_scalar(v.get(k), (items.get("properties") or {}).get(k) or {}) for k in keys] for v in value]
        return Row(f.title, header=header, cells=cells)
    options = dict(f.options)
    if isinstance(value, list):
        return Row(f.title, "、".join(str(options.get(v, v)) for v in value))
    if options:
        return Row(f.title, str(options.get(value, value)))
    if f.widget == "org":
        return Row(f.title, _org_name(value))
    if f.widget == "enterprise":
        return Row(f.title, _enterprise_name(value))
    text = _scalar(value, prop)
    if any(h in f.name for h in SENSITIVE_HINTS):
        text = mask(text)
    return Row(f.title, text)


def _scalar(value: Any, prop: dict) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    fmt = prop.get("format")
    if fmt in ("date", "date-time") and isinstance(value, str | date):
        return _date(value, fmt == "date-time")
    options = dict(forms._options(prop)) if prop else {}
    if options:
        return str(options.get(value, value))
    if isinstance(value, str) and _ISO_DATE.match(value):
        return _date(value, "T" in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return "、".join(str(v) for v in (value.values() if isinstance(value, dict) else value))
    return str(value)


def _date(value: str | date, with_time: bool) -> str:
    try:
        parsed = value if isinstance(value, date) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if isinstance(parsed, datetime):
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(runtime.SHANGHAI)
        if with_time:
            return f"{parsed.year}年{parsed.month}月{parsed.day}日 {parsed:%H:%M}"
    return f"{parsed.year}年{parsed.month}月{parsed.day}日"


def _org_name(code: Any) -> str:
    org = db.session.scalar(select(Organisation).where(Organisation.code == str(code)))
    return org.name if org is not None else str(code)


def _enterprise_name(code: Any) -> str:
    from app.enterprises.models import Enterprise

    name = db.session.scalar(select(Enterprise.name).where(Enterprise.credit_code == str(code)))
    return f"{name}（{code}）" if name else str(code)


def mask(text: str) -> str:
    """Personal data masked for reading (ID numbers, phone numbers, names)."""
    from app.security.masking import mask_id_number, mask_name, mask_phone

    if len(text) in (15, 18):
        return mask_id_number(text)
    if text.isdigit() or text.startswith("+"):
        return mask_phone(text)
    return mask_name(text)
