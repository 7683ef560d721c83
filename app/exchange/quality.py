"""Data standard (R7.5): a validation schema per data set, after the Ministry's data standard
(docs/data-standard.md), and the checks every connector and every upload runs on each row.

A row either passes (and is normalised: dates parsed, strings stripped) or gets a list of problems,
each {"field", "kind", "message"} with kind one of missing / invalid; the run keeps the row with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from app.enterprises.credit_code import is_valid as credit_code_ok

PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
DISTRICT = re.compile(r"^3101\d{2}$")


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    kind: str = "str"  # str / int / date / datetime / credit_code / phone / district / enum / float
    required: bool = False
    max_len: int = 200
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataSet:
    code: str
    label: str
    rules: tuple[Rule, ...]
    late_days: int = 3  # a row that reaches us more than this many days after its change is "late"
    key: str = "id"
    extra: dict = field(default_factory=dict)


def _base(*rules: Rule) -> tuple[Rule, ...]:
    return (
        Rule("id", "源系统主键", required=True, max_len=80),
        Rule("version", "版本号", "int", required=True),
        Rule("changed_at", "变更时间", "datetime", required=True),
        *rules,
    )


def _fact(label: str) -> tuple[Rule, ...]:
    return _base(
        Rule("credit_code", "统一社会信用代码", "credit_code", required=True),
        Rule("title", label, required=True, max_len=300),
        Rule("occurred_on", "发生/登记日期", "date", required=True),
    )


DATASETS: dict[str, DataSet] = {
    d.code: d
    for d in (
        DataSet(
            "inspection",
            "执法检查记录",
            _base(
                Rule("party_credit_code", "当事人统一社会信用代码", "credit_code", required=True),
                Rule("party_name", "当事人名称", required=True),
                Rule("inspected_on", "检查日期", "date", required=True),
                Rule("inspector", "检查人员", max_len=60),
                Rule("result", "检查结论", "enum", required=True, choices=("未发现问题", "责令整改", "立案查处")),
                Rule("district_code", "行政区划", "district"),
            ),
        ),
        DataSet(
            "party",
            "当事人基础信息",
            _base(
                Rule("credit_code", "统一社会信用代码", "credit_code", required=True),
                Rule("name", "当事人名称", required=True),
                Rule("legal_person", "法定代表人", max_len=60),
                Rule("address", "地址", max_len=300),
                Rule("phone", "联系电话", "phone"),
            ),
        ),
        DataSet(
            "org",
            "执法机构",
            _base(
                Rule("code", "机构编码", required=True, max_len=32),
                Rule("name", "机构名称", required=True, max_len=120),
                Rule("parent_code", "上级机构编码", max_len=32),
                Rule("kind", "机构类型", "enum", required=True, choices=("city", "section", "district", "street")),
                Rule("duties", "职责", max_len=500),
            ),
        ),
        DataSet(
            "staff",
            "执法人员",
            _base(
                Rule("login", "工号", required=True, max_len=64),
                Rule("name", "姓名", required=True, max_len=60),
                Rule("org_code", "所在机构编码", required=True, max_len=32),
                Rule("position", "职务", max_len=60),
                Rule("status", "在岗状态", "enum", required=True, choices=("在岗", "离岗")),
            ),
        ),
        DataSet("accident", "事故调查", _fact("事故名称")),
        DataSet("major_hazard", "重大隐患治理", _fact("隐患名称")),
        DataSet("insurance", "安全生产责任险", _fact("保单名称")),
        DataSet("emergency_plan", "应急预案备案", _fact("预案名称")),
        DataSet("standardisation", "安全生产标准化", _fact("达标等级")),
        DataSet("soe_assessment", "国企在线考核", _fact("考核结果")),
        DataSet(
            "enterprise",
            "企业基础信息",
            _base(
                Rule("credit_code", "统一社会信用代码", "credit_code", required=True),
                Rule("name", "企业名称", required=True),
                Rule("address", "地址", max_len=300),
                Rule("legal_person", "法定代表人", max_len=60),
                Rule("district_code", "行政区划", "district", required=True),
                Rule("industry_code", "行业", max_len=16),
            ),
        ),
        DataSet(
            "soe_unit",
            "国企集团架构",
            (
                Rule("unit_code", "单位编码", required=True, max_len=32),
                Rule("unit_name", "单位名称", required=True, max_len=120),
                Rule("credit_code", "统一社会信用代码", "credit_code", required=True),
                Rule("parent_code", "上级单位编码", max_len=32),
            ),
            key="unit_code",
        ),
        DataSet(
            "soe_inspection",
            "国企检查记录",
            (
                Rule("record_no", "记录编号", required=True, max_len=80),
                Rule("unit_code", "受检单位编码", required=True, max_len=32),
                Rule("inspected_on", "检查日期", "date", required=True),
                Rule("inspector", "检查人员", required=True, max_len=60),
                Rule("hazards", "发现隐患数", "int", required=True),
                Rule("findings", "检查情况", max_len=1000),
                # 典型隐患 / 典型违法行为 queries (app/soe): items separated by "；" or ";".
                Rule("hazard_items", "隐患类型", max_len=500),
                Rule("violation_items", "违法行为", max_len=500),
            ),
            key="record_no",
        ),
        DataSet(
            "soe_attachment",
            "国企检查附件",
            (
                Rule("file_id", "附件编号", required=True, max_len=80),
                Rule("record_no", "所属记录编号", required=True, max_len=80),
                Rule("filename", "文件名", required=True, max_len=200),
                Rule("sha256", "文件摘要", required=True, max_len=64),
                Rule("size", "文件大小", "int", required=True),
            ),
            key="file_id",
        ),
    )
}


def _parse_datetime(value) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_value(rule: Rule, value):
    """The normalised value, or raise ValueError with the Chinese reason."""
    kind = rule.kind
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("应为整数")
        try:
            number = int(str(value).strip())
        except ValueError as exc:
            raise ValueError("应为整数") from exc
        if number < 0:
            raise ValueError("不能为负数")
        return number
    if kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError("应为数字") from exc
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()[:10]).isoformat()
        except ValueError as exc:
            raise ValueError("日期格式应为 YYYY-MM-DD") from exc
    if kind == "datetime":
        try:
            return _parse_datetime(value).isoformat()
        except ValueError as exc:
            raise ValueError("时间格式应为 ISO 8601") from exc
    text = str(value).strip()
    if len(text) > rule.max_len:
        raise ValueError(f"长度不能超过 {rule.max_len} 个字符")
    if kind == "credit_code" and not credit_code_ok(text.upper()):
        raise ValueError("统一社会信用代码校验不通过")
    if kind == "phone" and not PHONE.match(text):
        raise ValueError("电话号码格式不正确")
    if kind == "district" and not DISTRICT.match(text):
        raise ValueError("不是上海市的区级行政区划代码")
    if kind == "enum" and text not in rule.choices:
        raise ValueError("取值应为：" + "、".join(rule.choices))
    return text.upper() if kind == "credit_code" else text


def validate(dataset: str, row: dict) -> tuple[dict, list[dict]]:
    """(normalised row, problems). Unknown fields are kept as they are (a source may add fields)."""
    spec = DATASETS[dataset]
    out = dict(row)
    problems = []
    for rule in spec.rules:
        value = row.get(rule.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if rule.required:
                problems.append({"field": rule.name, "kind": "missing", "message": f"缺少必填项「{rule.label}」"})
            out[rule.name] = None
            continue
        try:
            out[rule.name] = check_value(rule, value)
        except ValueError as exc:
            problems.append({"field": rule.name, "kind": "invalid", "message": f"「{rule.label}」{exc}"})
    return out, problems


def drift(dataset: str, rows: list[dict]) -> tuple[list[str], list[str]]:
    """Schema drift on a page: required fields absent from every row, and fields we have no rule for."""
    if not rows:
        return [], []
    spec = DATASETS[dataset]
    known = {r.name for r in spec.rules}
    absent = [r.name for r in spec.rules if r.required and all(r.name not in row for row in rows)]
    new = sorted({k for row in rows for k in row if k not in known})
    return absent, new
