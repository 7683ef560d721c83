"""The columns of the lists officers export (alerts, plans, process instances), with Chinese headers and
names in place of codes (app/names.py); sent through the one export helper (`app.tabular.export.send`)."""

from __future__ import annotations

from app import names
from app.tabular.export import Column

LEVELS = {"red": "超期", "yellow": "即将到期", "green": "正常"}

TASK_BOARD = [
    Column("预警", lambda r: LEVELS.get(r.level, r.level), width=10),
    Column("事项", lambda r: r.task.instance.title, width=36),
    Column("流程", lambda r: names.process(r.task.process_id), width=16),
    Column("步骤", lambda r: r.task.step_name, width=14),
    Column("办理人", lambda r: r.holder, width=16),
    Column("单位", lambda r: r.org.name if r.org else "", width=22),
    Column("期限", lambda r: r.task.due_at, kind="datetime", width=18),
]

ALERTS = [
    Column("类型", lambda a: a.kind_label, width=12),
    Column("级别", lambda a: a.level_label, width=8),
    Column("标题", "title", width=40),
    Column("说明", lambda a: a.detail or "", width=40),
    Column("负责人", lambda a: a.owner.name if a.owner else "", width=12),
    Column("产生时间", "created_at", kind="datetime", width=18),
    Column("处置时间", "closed_at", kind="datetime", width=18),
]

PLANS = [
    Column("计划", "title", width=36),
    Column("大队", lambda p: p.org.name, width=24),
    Column("年", "year", kind="number", width=6),
    Column("月", "month", kind="number", width=6),
    Column("事项数", lambda p: len(p.items), kind="number", width=8),
    Column("状态", lambda p: p.status_label, width=10),
    Column("发布时间", "published_at", kind="datetime", width=18),
]


INSPECTION_KINDS = {"plan": "计划检查", "clue": "线索核查", "other": "其他检查", "overlimit": "超限报备检查"}

# Rows of (Inspection, Enterprise, name of the inspecting organisation, name of the district).
INSPECTIONS = [
    Column("检查日期", lambda r: r[0].inspected_on, kind="date", width=12),
    Column("企业名称", lambda r: r[1].name, width=34),
    Column("统一社会信用代码", lambda r: r[1].credit_code, width=22),
    Column("所属区", lambda r: r[3], width=10),
    Column("监管等级", lambda r: f"{r[1].grade} 级" if r[1].grade else "", width=8),
    Column("检查单位", lambda r: r[2], width=24),
    Column("类别", lambda r: INSPECTION_KINDS.get(r[0].kind, r[0].kind), width=12),
    Column("说明", lambda r: r[0].note or "", width=40),
    Column("登记时间", lambda r: r[0].created_at, kind="datetime", width=18),
]


def instance_columns(org_names: dict, people: dict, statuses: dict) -> list[Column]:
    return [
        Column("流程编号", lambda i: i.number or str(i.id), width=22),
        Column("标题", "title", width=36),
        Column("流程", lambda i: names.process(i.process_id), width=16),
        Column("版本", lambda i: i.version.version, kind="number", width=6),
        Column("状态", lambda i: statuses.get(i.status, i.status), width=8),
        Column("当前步骤", lambda i: "、".join(i.current_steps or []), width=16),
        Column("机构", lambda i: org_names.get(i.org_id, ""), width=22),
        Column("发起人", lambda i: people.get(i.initiator_id, ""), width=12),
        Column("发起时间", "started_at", kind="datetime", width=18),
    ]
