"""Chinese text for what SpiffWorkflow's parser and libxml's schema check say, with the fix.

``engine_message(raw)`` translates a ``ValidationException`` message of SpiffWorkflow 3.2.0;
``schema_message(raw)`` a libxml2 XSD error. Both name the element (its tag and the attribute
at fault) and say what to change. Text that matches no known pattern keeps the original words
after a Chinese explanation, marked 引擎原文 / 架构原文, so nothing is hidden and nothing is
shown in English only.
"""

from __future__ import annotations

import re

# SpiffWorkflow 3.2.0 ValidationException messages: (pattern, Chinese template with {0}.. groups).
_ENGINE: list[tuple[str, str]] = [
    (
        r"There is no support implemented for this task type",
        "引擎不支持此类元素，请改用用户任务、脚本任务、服务任务等可执行元素",
    ),
    (
        r"A Service Task must have an operator",
        "服务任务缺少 spiffworkflow:serviceTaskOperator：请在属性面板选择一个已注册的服务",
    ),
    (
        r"Data Store with name (.+?) has no implementation",
        "数据存储「{0}」没有实现，引擎不支持：请删除数据存储及其数据关联，改用流程变量",
    ),
    (r"Data Store identifier is missing", "数据存储缺少 id：请为 bpmn:dataStore 填写 id，或删除它"),
    (r"Data Store name is missing", "数据存储缺少名称（name）：请删除数据存储及其数据关联，改用流程变量"),
    (r"(Message|Signal|Error|Escalation|Correlation) identifier is missing", "{0} 定义缺少 id：请补上 id 或删除该定义"),
    (r"Correlation is missing correlation property retrieval expressions: (.+)", "关联属性「{0}」缺少取值表达式"),
    (r"Message identifier is missing from correlation property: (.+)", "关联属性「{0}」的取值表达式缺少 messageRef"),
    (
        r"Non-default exclusive outgoing sequence flow without condition",
        "网关的这条出口顺序流没有条件，也不是网关的默认流：请为它写条件（Python，如 approved == True），"
        "或在网关上把它设为默认流（default）",
    ),
    (r"Multiple outgoing flows are not supported", "此类元素不支持多条流出顺序流，请在其后加网关分支"),
    (r"No start event found", "流程缺少开始事件：请添加一个开始事件"),
    (
        r"Exactly one start event is required in a SubWorkflow Task; found (\d+)",
        "子流程必须恰好有一个开始事件（实际 {0} 个）",
    ),
    (r"A SubWorkflow Must contain an End event", "子流程必须有结束事件"),
    (r'No "calledElement" attribute for Call Activity', "调用活动未指定被调用的流程（calledElement）"),
    (r"The process '(.+?)' was not found", "找不到被调用的流程「{0}」：请把它的 .bpmn 文件上传到本流程的工作区"),
    (r'No DMN Diagram available with id "(.*?)"', "找不到决策「{0}」：请上传包含该决策的 .dmn 文件"),
    (r"Duplicate process ID: (.+)", "流程 id「{0}」重复：请改为唯一的 id"),
    (
        r"Cannot resolve data(Input|Output)Association",
        "无法解析数据关联（data{0}Association）：请删除它或改为指向数据对象",
    ),
    (r"must specify a cardinality or a loop input", "多实例任务必须指定 loopCardinality 或 loopDataInputRef"),
    (r"exactly one of cardinality or loop input", "多实例任务只能指定 loopCardinality 与 loopDataInputRef 之一"),
    (
        r"loop (input|output) data reference is missing from the IO specification",
        "多实例任务的 loopData 引用不在 ioSpecification 中",
    ),
    (r"loopMaximum or loopCondition must be specified", "循环任务必须指定 loopMaximum 或 loopCondition"),
    (r"Cancel Events may only be used with transactions", "取消事件只能用于事务子流程"),
    (
        r"Unsupported Catch Event",
        "不支持的边界事件类型（如补偿、无类型边界事件）：请删除或改为定时器/消息/错误边界事件",
    ),
    (r"Unknown Time Specification", "定时器缺少时间定义：请填写 timeDuration、timeDate 或 timeCycle"),
    (r"Time Specification Error", '定时器定义有误：请填写带引号的 ISO-8601 值，如 "PT72H"'),
    (r"Conditional event definition with missing condition", "条件事件缺少条件表达式"),
    (r"Expected an? (Message|Signal|Error|Escalation) node", "引用的{0}定义不存在：请在文件中定义它或删除此引用"),
    (r"Could not find messageRef from message event definition: (.+)", "消息事件「{0}」引用的消息不存在"),
    (r"Multiple decision tables are not current supported", "每个 DMN 文件只能包含一个决策"),
    (r"No decisions found", "DMN 文件中没有决策（decision）"),
    (r"Unknown type in decision table", "决策表中有引擎不支持的元素"),
    (r"Malformed Output Expression", "DMN 输出表达式语法错误"),
    (r"Process (.+?) is not executable", '流程「{0}」不可执行：请设置 isExecutable="true"'),
    (r"perhaps a form has the same ID", "顺序流指向的元素不存在"),
    (r"Sequential ordering for ad hoc subprocesses not supported", "不支持顺序执行的自由子流程"),
    (r"Ad hoc subprocesses may not contain start or end events", "自由子流程中不能有开始或结束事件"),
    (r"Invalid Script Task", "脚本任务没有脚本：请填写脚本或改为普通任务"),
]


def engine_message(raw: str) -> str:
    """A SpiffWorkflow parser message in Chinese (the original kept when it is not known)."""
    for pattern, template in _ENGINE:
        match = re.search(pattern, raw, re.DOTALL)
        if match:
            return template.format(*match.groups())
    return f"引擎无法解析此元素，请检查它的定义（引擎原文：{raw}）"


_BPMN = re.compile(r"\{http://www\.omg\.org/spec/BPMN/20100524/(MODEL|DI)\}")
_DD = re.compile(r"\{http://www\.omg\.org/spec/DD/20100524/(DC|DI)\}")
_TYPES = {
    "xs:ID": "id（须唯一，以字母或下划线开头，不含空格和冒号）",
    "xs:IDREF": "元素 id 引用",
    "xs:QName": "元素引用（QName）",
    "xs:boolean": "布尔值 true/false",
    "xs:integer": "整数",
    "xs:int": "整数",
    "xs:double": "数字",
    "xs:anyURI": "URI",
}


def _element(name: str) -> str:
    return _DD.sub(
        lambda m: m.group(1).lower() + ":", _BPMN.sub(lambda m: "bpmn:" if m.group(1) == "MODEL" else "bpmndi:", name)
    )


def _expected(listing: str) -> str:
    items = [_element(x.strip()) for x in listing.split(",") if x.strip()]
    return "、".join(items[:6]) + ("等" if len(items) > 6 else "")


_SCHEMA: list[tuple[re.Pattern, object]] = [
    (
        re.compile(r"^Element '([^']+)': This element is not expected\. Expected is (?:one of )?\( (.+) \)\.?$", re.S),
        lambda m: f"元素 {_element(m[1])} 不应出现在这里（此处可以是：{_expected(m[2])}）：请移动或删除它",
    ),
    (
        re.compile(r"^Element '([^']+)': This element is not expected\.?$"),
        lambda m: f"元素 {_element(m[1])} 不应出现在这里：请移动或删除它",
    ),
    (
        re.compile(r"^Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed\.?$"),
        lambda m: f"元素 {_element(m[1])} 不允许有属性 {m[2]}：请删除该属性",
    ),
    (
        re.compile(r"^Element '([^']+)': The attribute '([^']+)' is required but missing\.?$"),
        lambda m: f"元素 {_element(m[1])} 缺少必需的属性 {m[2]}：请补上",
    ),
    (
        re.compile(
            r"^Element '([^']+)', attribute '([^']+)': '(.*)' is not a valid value of the atomic type '([^']+)'\.?$",
            re.S,
        ),
        lambda m: (
            f"元素 {_element(m[1])} 的属性 {m[2]} 值「{m[3]}」不是合法的{_TYPES.get(m[4], m[4])}"
            + ("，或与其他元素的 id 重复" if m[4] == "xs:ID" else "")
            + "：请改正"
        ),
    ),
    (
        re.compile(r"^Element '([^']+)': '(.*)' is not a valid value of the atomic type '([^']+)'\.?$", re.S),
        lambda m: f"元素 {_element(m[1])} 的内容「{m[2]}」不是合法的{_TYPES.get(m[3], m[3])}：请改正",
    ),
    (
        re.compile(
            r"^Element '([^']+)', attribute '([^']+)': \[facet 'enumeration'\] "
            r"The value '(.*)' is not an element of the set \{(.*)\}\.?$",
            re.S,
        ),
        lambda m: f"元素 {_element(m[1])} 的属性 {m[2]} 值「{m[3]}」不在允许的取值中（{m[4]}）：请改为其中之一",
    ),
    (
        re.compile(
            r"^Element '([^']+)'(?:, attribute '([^']+)')?: "
            r"The QName value '(.*)' has no corresponding namespace declaration in scope\.?$"
        ),
        lambda m: (
            f"元素 {_element(m[1])} 的{('属性 ' + m[2]) if m[2] else '内容'}「{m[3]}」"
            "使用了未声明的命名空间前缀：请去掉前缀或声明它"
        ),
    ),
    (
        re.compile(r"^Element '([^']+)': Missing child element\(s\)\. Expected is (?:one of )?\( (.+) \)\.?$", re.S),
        lambda m: f"元素 {_element(m[1])} 缺少子元素（应有：{_expected(m[2])}）：请补上",
    ),
    (
        re.compile(r"^Element '([^']+)': Character content other than whitespace is not allowed.*$", re.S),
        lambda m: f"元素 {_element(m[1])} 不允许直接包含文字：请删除这些文字（说明文字可放在 bpmn:documentation 中）",
    ),
    (
        re.compile(r"^Element '([^']+)': No match found for key-sequence \['(.*)'\] of keyref.*$", re.S),
        lambda m: f"元素 {_element(m[1])} 引用的「{m[2]}」不存在：请改为已有元素的 id",
    ),
    (
        re.compile(r"^Element '([^']+)': Duplicate key-sequence \['(.*)'\].*$", re.S),
        lambda m: f"元素 {_element(m[1])} 的 id「{m[2]}」重复：请改为唯一的 id",
    ),
    (
        re.compile(r"^Element '([^']+)': No matching global declaration available for the validation root\.?$"),
        lambda m: f"根元素 {_element(m[1])} 不是 BPMN 2.0 的 definitions：请导出为 BPMN 2.0 XML",
    ),
]


def schema_message(raw: str, what: str = "BPMN 2.0") -> str:
    """A libxml2 XSD error in Chinese, naming the element and the attribute at fault."""
    text = raw.strip()
    for pattern, render in _SCHEMA:
        match = pattern.match(text)
        if match:
            return f"不符合 {what} XML 架构：{render(match)}"
    return f"不符合 {what} XML 架构，请按规范修改此元素（架构原文：{_element(text)}）"
