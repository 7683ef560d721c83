"""The one place that turns codes into the names people read: roles, organisations, users, processes,
steps, permissions, audit actions and object types. Pages (Jinja filters registered by ``init_app``),
print pages, PDFs, exports and the audit log all go through here, so a code never reaches a person where
a name belongs. Lookups of the database are cached per request (``flask.g``); an unknown code comes back
as it is, so nothing is lost."""

from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import select

from app.auth.permissions import PERMISSIONS
from app.extensions import db

# Audit actions: the object (prefix) and the verb; a full code listed here wins over the composition.
AUDIT_OBJECTS = {
    "user": "账号",
    "account": "账号",
    "role": "角色",
    "org": "机构",
    "session": "会话",
    "login": "登录",
    "logout": "退出登录",
    "totp": "双因素认证",
    "keys": "密钥",
    "audit": "审计日志",
    "calendar": "工作日历",
    "process": "流程",
    "task": "待办",
    "clue": "线索",
    "plan": "计划",
    "document": "文书",
    "deadline": "办理期限",
    "alert": "预警",
    "label": "标签",
    "grading": "分级模型",
    "trigger": "触发规则",
    "checklimit": "检查次数",
    "security": "安全",
    "enterprise": "企业",
    "report": "报表",
    "inspection": "检查",
    "appraisal": "评议考核",
    "soe": "国企交流",
    "case": "案件",
    "case_rules": "评查规则",
    "case_review": "案卷评查",
}
AUDIT_VERBS = {
    "create": "新建",
    "update": "修改",
    "save": "保存",
    "delete": "删除",
    "remove": "删除",
    "add": "添加",
    "roles": "分配角色",
    "change_password": "修改密码",
    "reset_password": "重置密码",
    "locked": "锁定",
    "failed": "失败",
    "end": "结束",
    "end_all": "全部下线",
    "enrol": "绑定",
    "reset": "重置",
    "rotate": "轮换",
    "recovery_codes": "生成恢复码",
    "recovery_code_used": "使用恢复码",
    "export": "导出",
    "verify": "校验",
    "read": "查看",
    "set": "设置",
    "clear": "清除",
    "deploy": "部署",
    "upload": "上传",
    "draft_discard": "放弃草稿",
    "enable": "启用",
    "disable": "停用",
    "rollback": "回滚",
    "start": "发起",
    "terminate": "终止",
    "void": "作废",
    "cc": "抄送",
    "urge": "催办",
    "escalate": "升级",
    "return": "退回",
    "add_sign": "加签",
    "remove_sign": "减签",
    "transfer": "转办",
    "delegate": "委派",
    "approve": "通过",
    "reject": "拒绝",
    "complete": "提交",
    "withdraw": "撤回",
    "reclaim": "拿回",
    "claim": "认领",
    "release": "释放",
    "register": "登记",
    "close": "办结",
    "submit": "提交",
    "publish": "发布",
    "generate": "生成",
    "draw": "抽取",
    "sign": "签发",
    "download": "下载",
    "request": "申请",
    "decide": "审批",
    "apply": "申请",
    "file": "报备",
    "limits": "设置上限",
    "dryrun": "试运行",
    "suspend": "挂起",
    "resume": "恢复",
    "retry": "重试",
    "move": "移动",
    "migrate": "迁移",
}
AUDIT_ACTIONS = {
    "appraisal.scheme_create": "新建考核方案",
    "appraisal.scheme_save": "保存考核方案",
    "appraisal.scheme_publish": "发布考核方案",
    "appraisal.round_create": "发起考核",
    "appraisal.scored": "完成评议打分",
    "appraisal.publish": "公布考核结果",
    "appraisal.close": "考核归档",
    "appraisal.object": "提出考核异议",
    "appraisal.objection_decide": "处理考核异议",
    "soe.guidance_create": "发送监管指导建议",
    "soe.guidance_close": "办结监管指导建议",
    "login": "登录",
    "logout": "退出登录",
    "login.failed": "登录失败",
    "audit.purged": "审计日志到期清理",
    "session.purged": "过期会话清理",
    "export.purged": "过期导出文件清理",
    "account.locked": "账号锁定",
    "account.disabled_idle": "长期未登录停用账号",
    "account.initial_password.viewed": "查看初始密码",
    "account.create": "开通账号",
    "account.reject": "驳回账号申请",
    "account.apply": "申请开通账号",
    "clue.reporter.reveal": "查看举报人明文",
    "plan.item.add": "添加计划事项",
    "plan.item.remove": "删除计划事项",
    "grading.model.draft": "保存分级模型草稿",
    "grading.model.publish": "发布分级模型",
    "grading.model.dryrun": "试算分级模型",
    "trigger.rule.save": "保存触发规则",
    "trigger.rule.publish": "发布触发规则",
    "trigger.scenario.save": "保存触发场景",
    "trigger.escalate": "触发事项超期升级",
    "trigger.close": "办结触发事项",
    "label.add": "添加企业标签",
    "label.remove": "移除企业标签",
    "label.save": "保存标签",
    "label.export": "导出风险标签",
    "checklimit.limits": "设置年度检查上限",
    "checklimit.file": "超限检查报备",
    "checklimit.decide": "超限检查报备审批",
    "enterprise.import": "批量导入企业",
    "inspection.export": "导出检查记录",
    "totp.enrol": "绑定双因素认证",
    "totp.reset": "重置双因素认证",
    "keys.rotate": "轮换数据密钥",
    "session.end": "结束会话",
    "session.end_all": "强制全部下线",
    "user.roles": "分配角色",
    "training.questions_import": "导入技能拉练题目",
    "training.questions_export": "导出技能拉练题库",
    "training.records_export": "导出模拟练习记录",
}
OBJECT_TYPES = {
    "user": "账号",
    "role": "角色",
    "org": "机构",
    "organisation": "机构",
    "instance": "流程实例",
    "task": "待办",
    "process": "流程",
    "process_model": "流程",
    "clue": "线索",
    "plan": "计划",
    "document": "文书",
    "alert": "预警",
    "session": "会话",
    "export": "导出文件",
    "application": "账号申请",
    "account_application": "账号申请",
    "calendar": "工作日历",
    "enterprise": "企业",
    "label": "标签",
    "trigger": "触发规则",
    "grading_model": "分级模型",
    "report": "报表",
    "deadline_request": "期限申请",
    "trigger_hit": "触发命中",
    "trigger_rule": "触发规则",
    "trigger_scenario": "触发场景",
    "overlimit_filing": "超限检查报备",
    "check_limit": "检查次数上限",
    "audit": "审计日志",
    "inspection": "检查",
    "grade_model": "分级模型",
    "enterprise_labels": "企业标签",
    "inspection_limits": "年度检查上限",
    "enterprise_label": "企业标签",
    "training_questions": "技能拉练题目",
    "training_practice_records": "模拟练习记录",
    "appraisal_scheme": "考核方案",
    "appraisal_round": "考核轮次",
    "appraisal_result": "考核结果",
    "soe_guidance": "监管指导建议",
    "case": "案件",
    "case_rule_set": "评查规则",
    "case_review": "案卷评查",
}
# Registered service-task operators (app/engine/services.py): what the step does, for people.
SERVICES = {
    "inbox.cc": "抄送",
    "http.call": "调用外部接口",
    "account.step": "记录申请环节",
    "account.reject": "驳回账号申请",
    "account.create": "开通账号",
    "clue.step": "记录线索环节",
    "clue.close": "办结线索",
    "clue.dispatch": "记录派单",
    "clue.sent_back": "记录退回",
    "clue.generate_order": "生成调查单",
    "clue.generate_report": "生成调查报告",
    "clue.sign_report": "签发调查报告",
    "plan.step": "记录计划环节",
    "plan.returned": "记录计划退回",
    "plan.resubmitted": "记录重新提交",
    "plan.publicize": "计划公示",
    "plan.publish": "发布计划",
    "trigger.step": "记录触发处置环节",
    "trigger.remind": "提醒处置",
    "trigger.escalate": "升级处置",
    "trigger.close": "办结触发事项",
    "checklimit.decide": "记录报备结果",
    "training.finish_marking": "汇总比武成绩",
    "appraisal.scored": "汇总评分并生成负责人考核",
    "appraisal.returned": "退回重新评议",
    "appraisal.publish": "公布考核结果",
    "appraisal.close": "考核归档",
    "appraisal.objection_decided": "记录异议处理结果",
    "soe.guidance_step": "记录指导建议环节",
    "soe.guidance_closed": "办结指导建议",
    "cases.assign": "登记评查人",
    "cases.scored": "汇总评查得分",
    "cases.sign": "评查结论生效",
    "cases.send_back": "退回重评",
}
# Kinds of in-app notifications (app/inbox/notify.py and the modules that notify).
NOTIFICATION_KINDS = {
    "new_task": "新待办",
    "remind": "提醒",
    "escalate": "升级",
    "urge": "催办",
    "cc": "抄送",
    "return": "退回",
    "done": "办结",
    "accepted": "已受理",
    "follow": "关注",
    "alert": "预警",
    "clue_accepted": "线索已受理",
    "clue_returned": "线索被退回",
    "clue_rejected": "线索不予受理",
    "clue_closed": "线索已办结",
    "appraisal": "评议考核",
    "soe_guidance": "监管指导建议",
}
DOCUMENT_KINDS = {"investigation_order": "调查单", "investigation_report": "调查报告", "monthly_report": "月度统计报告"}

# Keys of audit details, shown as labels; values under these keys are codes turned into names.
DETAIL_KEYS = {
    "adjusted_total": "调整后得分",
    "roles": "角色",
    "role": "角色",
    "org": "机构",
    "org_code": "机构",
    "login": "账号",
    "to": "交给",
    "user": "人员",
    "users": "人员",
    "step": "步骤",
    "process_id": "流程",
    "process": "流程",
    "version": "版本",
    "comment": "意见",
    "reason": "原因",
    "name": "名称",
    "status": "状态",
    "count": "数量",
    "rows": "行数",
    "filters": "筛选条件",
    "file": "文件",
    "files": "文件",
    "number": "编号",
    "title": "标题",
    "permissions": "权限",
    "kind": "类型",
    "action": "操作",
    "ip": "地址",
    "from": "原值",
    "changes": "修改",
    "fields": "字段",
    "date": "日期",
    "days": "天数",
    "format": "格式",
    "checked": "已校验",
    "ok": "结果",
    "decision": "决定",
    "amount": "数量",
    "target": "目标",
    "label": "标签",
    "labels": "标签",
    "code": "编码",
    "rule": "规则",
    "rules": "规则",
    "rule_codes": "规则",
    "scenario": "场景",
    "outcome": "处置结果",
    "by": "办理人",
    "enterprise": "企业",
    "expires_on": "有效期至",
    "match": "匹配方式",
    "district": "所属区",
    "industry": "行业",
    "limit": "上限",
    "source": "来源",
    "case_type": "程序类型",
    "rule_version": "评查规则版本",
}
MATCH_MODES = {"any": "含任一", "all": "含全部"}


def _cache(name: str, loader) -> dict:
    if not has_app_context():
        return loader()
    cache = g.setdefault("_names", {})
    if name not in cache:
        cache[name] = loader()
    return cache[name]


def _roles() -> dict[str, str]:
    from app.auth.models import Role

    return dict(db.session.execute(select(Role.code, Role.name)).all())


def role(code: str | None) -> str:
    if not code:
        return ""
    return _cache("roles", _roles).get(code, code)


def roles(codes) -> str:
    if isinstance(codes, str):
        codes = [c.strip() for c in codes.replace("，", ",").split(",") if c.strip()]
    return "、".join(role(c) for c in codes or [])


def _lookup(kind: str, code: str, query) -> str:
    found = _cache(kind, dict)
    if code not in found:
        found[code] = db.session.scalar(query) or code
    return found[code]


def org(code: str | None) -> str:
    if not code:
        return ""
    from app.orgs.models import Organisation

    return _lookup("orgs", code, select(Organisation.name).where(Organisation.code == code))


def user(login: str | None) -> str:
    if not login:
        return ""
    from app.auth.models import User

    return _lookup("users", login, select(User.name).where(User.login == login))


def process(process_id: str | None) -> str:
    if not process_id:
        return ""
    from app.engine.models import ProcessModel

    return _lookup("processes", process_id, select(ProcessModel.name).where(ProcessModel.process_id == process_id))


def step(process_id: str | None, step_id: str | None) -> str:
    """The name of a step (BPMN element) of a process's current version; the id when it has none."""
    if not step_id:
        return ""
    steps = _cache(f"steps:{process_id}", lambda: _steps(process_id))
    return steps.get(step_id, step_id)


def _steps(process_id: str | None) -> dict[str, str]:
    from lxml import etree

    from app.engine.models import ProcessModel

    model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id)) if process_id else None
    version = model.current_version if model is not None else None
    if version is None:
        return {}
    root = etree.fromstring(version.bpmn.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    return {
        el.get("id"): el.get("name")
        for el in root.iter()
        if isinstance(el.tag, str) and el.get("id") and el.get("name")
    }


def trigger_rule(code: str | None) -> str:
    """A trigger rule's name (its latest version's); the code when there is no such rule."""
    if not code:
        return ""
    from app.triggers.models import TriggerRule

    query = select(TriggerRule.name).where(TriggerRule.code == code).order_by(TriggerRule.version.desc()).limit(1)
    return _lookup("trigger_rules", code, query)


def trigger_rules(codes) -> str:
    return "、".join(trigger_rule(c) for c in codes or [])


def label(code_or_id) -> str:
    """A label's name by its code or id; the code when there is no such label."""
    if code_or_id in (None, ""):
        return ""
    from app.labels.models import LabelDef

    text = str(code_or_id)
    where = LabelDef.id == int(text) if text.isdigit() else LabelDef.code == text
    return _lookup("labels", text, select(LabelDef.name).where(where))


def district(code: str | None) -> str:
    return org(code)


def outcome(code: str | None) -> str:
    """The outcome of a clue (属实 …) or of a trigger dispatch (发现问题并已处理 …)."""
    from app.clues.models import OUTCOMES as CLUE_OUTCOMES
    from app.triggers.models import OUTCOMES as TRIGGER_OUTCOMES

    return {**CLUE_OUTCOMES, **TRIGGER_OUTCOMES}.get(code or "", code or "")


def notification_kind(code: str | None) -> str:
    return NOTIFICATION_KINDS.get(code or "", "通知")


def service(code: str | None) -> str:
    return SERVICES.get(code or "", code or "")


def permission(code: str | None) -> str:
    return PERMISSIONS.get(code or "", code or "")


def audit_action(code: str | None) -> str:
    if not code:
        return ""
    if code in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[code]
    obj, _, verb = code.partition(".")
    if verb and obj in AUDIT_OBJECTS:
        verb_name = AUDIT_VERBS.get(verb.split(".")[-1])
        if verb_name:
            return (
                f"{verb_name}{AUDIT_OBJECTS[obj]}"
                if verb_name in ("新建", "修改", "删除", "保存")
                else f"{AUDIT_OBJECTS[obj]}{verb_name}"
            )
    return code


def object_type(code: str | None) -> str:
    return OBJECT_TYPES.get(code or "", code or "")


def _value(key: str, value, process_id: str | None = None) -> str:
    if isinstance(value, dict):
        return "；".join(f"{DETAIL_KEYS.get(k, k)}：{_value(k, v, process_id)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "、".join(_value(key, v, process_id) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    text = str(value)
    if key in ("roles", "role"):
        return role(text)
    if key in ("org", "org_code"):
        return org(text)
    if key in ("login", "to", "user", "users", "actor"):
        return user(text)
    if key == "kind" and text in DOCUMENT_KINDS:
        return DOCUMENT_KINDS[text]
    if key in ("process_id", "process"):
        return process(text)
    if key == "step":
        return step(process_id, text)
    if key == "permissions":
        return permission(text)
    if key in ("label", "labels"):
        return label(text)
    if key in ("rule", "rules", "rule_codes"):
        return trigger_rule(text)
    if key == "by":
        return user(text)
    if key == "outcome":
        return outcome(text)
    if key == "match":
        return MATCH_MODES.get(text, text)
    if key == "district":
        return org(text)
    if key == "industry":
        from app.enterprises.reference import industry_name

        return industry_name(text) or text
    return text


def detail(entry_detail: dict | None, object_type: str | None = None, object_id=None) -> list[tuple[str, str, bool]]:
    """An audit entry's detail as (label, value, known) with names in place of codes; ``known`` is False for
    keys this mapping does not know (shown as raw data)."""
    d = entry_detail or {}
    pid = d.get("process_id") or d.get("process")
    if not pid and object_type == "task" and str(object_id or "").isdigit():
        from app.inbox.models import HumanTask

        pid = _lookup("tasks", str(object_id), select(HumanTask.process_id).where(HumanTask.id == int(object_id)))
    if not pid and object_type == "instance" and object_id:
        from app.engine.models import ProcessInstance

        pid = (
            _lookup(
                "instances",
                str(object_id),
                select(ProcessInstance.process_id).where(ProcessInstance.id == int(object_id)),
            )
            if str(object_id).isdigit()
            else None
        )
    out = []
    for k, v in d.items():
        shown = _value(k, v, pid)
        # A login or code with no name behind it (an account not yet opened) is shown as raw data.
        raw = isinstance(v, str) and shown == v and ("_" in v or (v.isascii() and v.isalpha()))
        known = k in DETAIL_KEYS and not raw
        out.append((DETAIL_KEYS.get(k, k), shown, known))
    return out


def audit_entry_detail(entry) -> list[tuple[str, str, bool]]:
    return detail(entry.detail, entry.object_type, entry.object_id)


def init_app(app) -> None:
    """Jinja filters: ``{{ code|role_name }}``, ``org_name``, ``user_name``, ``process_name``, ``permission_name``,
    ``audit_action``, ``object_type_name``, ``audit_detail``; and ``step_name(process_id, step_id)``."""
    app.jinja_env.filters.update(
        role_name=role,
        role_names=roles,
        org_name=org,
        user_name=user,
        process_name=process,
        permission_name=permission,
        service_name=service,
        audit_action=audit_action,
        object_type_name=object_type,
        audit_detail=audit_entry_detail,
        trigger_rule_name=trigger_rule,
        trigger_rule_names=trigger_rules,
        label_name=label,
        notification_kind=notification_kind,
    )
    app.jinja_env.globals["step_name"] = step
    app.jinja_env.globals["field_labels"] = field_labels


class FieldLabels:
    """Titles of a process version's form fields and of their choices (JSON Schema ``title``,
    ``oneOf``/``anyOf`` ``const``+``title``, ``enum``+``enumNames``), to show process data by name."""

    def __init__(self, forms: dict | None) -> None:
        import json

        self.titles: dict[str, str] = {}
        self.choices: dict[str, dict[str, str]] = {}
        self.logins: set[str] = set()  # fields holding a login (JSON Schema "format": "login"): shown by name
        for text in (forms or {}).values():
            try:
                schema = json.loads(text) if isinstance(text, str) else text
            except ValueError:
                continue
            for key, spec in ((schema or {}).get("properties") or {}).items() if isinstance(schema, dict) else []:
                if not isinstance(spec, dict):
                    continue
                if spec.get("title"):
                    self.titles.setdefault(key, str(spec["title"]))
                if spec.get("format") == "login":
                    self.logins.add(key)
                options = spec.get("oneOf") or spec.get("anyOf") or (spec.get("items") or {}).get("oneOf") or []
                found = {
                    str(o["const"]): str(o.get("title") or o["const"])
                    for o in options
                    if isinstance(o, dict) and "const" in o
                }
                if spec.get("enum") and spec.get("enumNames"):
                    found.update({str(v): str(n) for v, n in zip(spec["enum"], spec["enumNames"], strict=False)})
                if found:
                    self.choices.setdefault(key, {}).update(found)

    def known(self, key: str) -> bool:
        return key in self.titles

    def key(self, key: str) -> str:
        return self.titles.get(key, key)

    def value(self, key: str, value) -> str:
        if value is None or value == "":
            return "（空）"
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list):
            return "、".join(self.value(key, v) for v in value)
        if isinstance(value, dict):
            return "；".join(f"{k}：{v}" for k, v in value.items())
        if key in self.logins:
            return user(str(value))
        return self.choices.get(key, {}).get(str(value), str(value))


def field_labels(instance) -> FieldLabels:
    """The labels of an instance's process version (cached per request)."""
    if not instance:  # also a template's undefined variable (pages that show a history without an instance)
        return FieldLabels(None)
    version = getattr(instance, "version", None)
    return _cache(f"fields:{getattr(version, 'id', None)}", lambda: FieldLabels(getattr(version, "forms", None)))
