"""The restricted script environment and the helpers scripts may call.

Scripts (script tasks, pre/post scripts), gateway conditions, timer expressions and DMN entries
are Python, compiled with RestrictedPython: no ``import``, no ``open``/``exec``/``eval``, no
names or attributes starting with ``_`` (so ``().__class__.__bases__`` is refused), attribute
writes only on dicts and lists. Safe builtins, ``date``/``datetime``/``timedelta``/``Decimal``
and the registered helpers are the only globals.

Every top-level name a script assigns becomes task data (SpiffWorkflow runs a script with the
task data as its globals), so scripts should ``del`` their temporaries, loop variables included::

    total = sum(item["amount"] for item in items)
    for row in items:
        row["checked"] = True
    del row

Helpers live in the builtins, so a task-data field with the same name (``today``, ``date``)
simply shadows the helper inside that script instead of failing.

CPU and memory are bounded by ``script_limits`` (a step budget, a time budget and size checks compiled
into the code); exceeding them is a ScriptError naming the element, so the step becomes an incident.
"""

from __future__ import annotations

import ast
import builtins
import operator
import re
import textwrap
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from types import CodeType
from typing import Any, Literal

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
)
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from app.engine import script_limits
from app.engine.calendar import get_calendar
from app.engine.errors import ScriptError

Mode = Literal["exec", "eval"]


def _shanghai() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Shanghai")
    except Exception:  # no tz database on this host: China has had no DST since 1991
        return timezone(timedelta(hours=8), "Asia/Shanghai")


SHANGHAI = _shanghai()

# Calls refused at compile time (most are also absent from the builtins, this gives a clear message).
# fmt: off
_FORBIDDEN_CALLS = frozenset({
    "open", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr", "input",
    "breakpoint", "help", "exit", "quit", "memoryview", "print", "dir", "type", "super", "object",
})
# fmt: on

_RESTRICTED_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r'"(.+)" is an invalid variable name because it starts with "_"'),
        "不允许使用以下划线开头的名称「{0}」",
    ),
    (
        re.compile(r'"(.+)" is an invalid attribute name because it starts with "_"'),
        "不允许访问以下划线开头的属性「{0}」",
    ),
    (
        re.compile(r'"(.+)" is an invalid (?:variable|attribute) name because it ends with "__roles__"'),
        "不允许使用名称「{0}」",
    ),
    (re.compile(r'"(.+)" is a restricted name'), "不允许访问属性「{0}」"),
    (re.compile(r'"(.+)" is a reserved name'), "「{0}」是保留名称，不能使用"),
    (re.compile(r"Exec calls are not allowed"), "不允许调用 exec"),
    (re.compile(r"Eval calls are not allowed"), "不允许调用 eval"),
    (re.compile(r"Augmented assignment of attributes"), "不允许对属性做增量赋值（如 a.b += 1）"),
    (
        re.compile(r"Augmented assignment of object items"),
        "不允许对元素或切片做增量赋值，请写成 a[k] = a[k] + 1",
    ),
    (re.compile(r"Unpacking in comprehensions"), "推导式中不允许使用解包"),
    (re.compile(r"(\w+) statements are not allowed"), "不允许使用 {0} 语句"),
]


class _Policy(script_limits.LimitTransformer, RestrictingNodeTransformer):
    """RestrictedPython's policy plus a few refusals, with messages in Chinese."""

    def error(self, node: ast.AST, info: str) -> None:
        lineno = getattr(node, "lineno", None)
        self.errors.append(f"Line {lineno}: {_translate(info)}")

    def visit_Import(self, node: ast.Import) -> Any:
        self.error(node, "脚本中不允许 import，请使用已提供的辅助函数")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        self.error(node, "脚本中不允许 import，请使用已提供的辅助函数")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, "脚本中不允许定义类")
        return node

    def visit_Global(self, node: ast.Global) -> Any:
        self.error(node, "脚本中不允许使用 global")
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
            self.error(node, f"脚本中不允许调用 {node.func.id}()")
        return super().visit_Call(node)


def _translate(info: str) -> str:
    for pattern, template in _RESTRICTED_MESSAGES:
        match = pattern.search(info)
        if match:
            return template.format(*match.groups())
    if re.search(r"[\u4e00-\u9fff]", info):
        return info
    return f"脚本不被允许：{info}"


_SYNTAX_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^invalid syntax"), "无效的语法"),
    (re.compile(r"^'(.)' was never closed"), "括号「{0}」没有闭合"),
    (re.compile(r"^unmatched '(.)'"), "多余的括号「{0}」"),
    (
        re.compile(r"^closing parenthesis '(.)' does not match opening parenthesis '(.)'"),
        "括号「{1}」与「{0}」不匹配",
    ),
    (re.compile(r"^unterminated (?:triple-quoted )?string literal"), "字符串没有结束引号"),
    (re.compile(r"^unexpected indent"), "多余的缩进"),
    (re.compile(r"^expected an indented block"), "缺少缩进的代码块"),
    (re.compile(r"^unindent does not match"), "缩进与上文不一致"),
    (re.compile(r"^expected ':'"), "缺少冒号"),
    (re.compile(r"^invalid decimal literal"), "数字写法不合法（ISO-8601 字面量等需加引号）"),
    (re.compile(r"leading zeros in decimal integer literals"), "数字不能以 0 开头（日期等需加引号）"),
    (re.compile(r"^cannot assign to"), "不能给此表达式赋值（比较请用 ==）"),
    (re.compile(r"^invalid character '(.)'"), "非法字符「{0}」（请使用英文标点）"),
]


def _syntax_message(msg: str) -> str:
    for pattern, template in _SYNTAX_MESSAGES:
        match = pattern.search(msg)
        if match:
            return template.format(*match.groups())
    return msg or "无法解析"


_LINE_RE = re.compile(r"^Line (\d+|None): (.*)$", re.DOTALL)


def _prepare(source: str, mode: Mode) -> str:
    # Text from XML often carries the indentation of the surrounding markup.
    return source.strip() if mode == "eval" else textwrap.dedent(source)


def _check(source: str, mode: Mode) -> tuple[CodeType | None, list[tuple[int | None, str]]]:
    text = _prepare(source, mode)
    if mode == "eval" and not text:
        return None, [(1, "表达式为空")]
    try:
        tree = ast.parse(text, "<string>", mode)
    except SyntaxError as exc:
        return None, [(exc.lineno, f"语法错误：{_syntax_message(exc.msg or '')}")]
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(tree, "<string>", policy=_Policy)
    problems: list[tuple[int | None, str]] = []
    for err in result.errors:
        match = _LINE_RE.match(err)
        if match:
            line = None if match.group(1) == "None" else int(match.group(1))
            problems.append((line, match.group(2)))
        else:
            problems.append((None, _translate(err)))
    return (None, problems) if problems else (result.code, [])


@lru_cache(maxsize=4096)
def compile_script(source: str, mode: Mode = "exec") -> CodeType:
    """Compile in the restricted environment (cached by source text); raise ``ScriptError``."""
    code, problems = _check(source, mode)
    if code is None:
        line, message = problems[0]
        raise ScriptError(message, line=line)
    return code


def lint_script(source: str, mode: Mode = "exec") -> list[tuple[int | None, str]]:
    """Every reason the restricted environment refuses ``source`` as ``(line, message_zh)``."""
    return _check(source, mode)[1]


# ---------------------------------------------------------------------------------------------
# Guards and builtins

_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    script_limits.check_binop(op, target, value)
    return _INPLACE_OPS[op](target, value)


def _getitem(obj: Any, key: Any) -> Any:
    return obj[key]


def _apply(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


# fmt: off
_SAFE_BUILTIN_NAMES = (
    "len", "min", "max", "sum", "sorted", "range", "str", "int", "float", "bool", "list", "dict",
    "set", "frozenset", "tuple", "round", "abs", "any", "all", "enumerate", "zip", "isinstance",
    "reversed", "map", "filter", "divmod", "repr", "chr", "ord", "Exception", "ValueError",
    "KeyError", "TypeError", "IndexError", "ZeroDivisionError",
)
# fmt: on

_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
_BUILTINS.update(script_limits.BUILTINS)
_BUILTINS.update(
    {
        "None": None,
        "True": True,
        "False": False,
        "date": date,
        "datetime": datetime,
        "timedelta": timedelta,
        "Decimal": Decimal,
    }
)
_RESERVED = frozenset(_BUILTINS)
_HELPERS: dict[str, Callable[..., Any]] = {}
_helpers_lock = threading.Lock()

_GUARDS: dict[str, Any] = {
    "_getitem_": _getitem,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
    **script_limits.GUARDS,
}


def register_helper(name: str, fn: Callable[..., Any]) -> None:
    """Make ``fn`` callable as ``name(...)`` from every script and expression."""
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"辅助函数名称不合法：{name!r}")
    if name in _RESERVED:
        raise ValueError(f"辅助函数名称与内置名称冲突：{name!r}")
    with _helpers_lock:
        _HELPERS[name] = fn
        _BUILTINS[name] = fn


def helper_names() -> list[str]:
    """Names of the registered helpers (for documentation pages and the modeler)."""
    return sorted(_HELPERS)


# ---------------------------------------------------------------------------------------------
# Default helpers


def _to_temporal(value: date | datetime | str) -> tuple[date | datetime, bool]:
    if isinstance(value, str):
        text = value.strip()
        parsed: date | datetime = (
            datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
        )
        return parsed, True
    return value, False


def now() -> datetime:
    """The current time in Asia/Shanghai (timezone-aware)."""
    return datetime.now(SHANGHAI)


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return now().date()


def add_working_days(d: date | datetime | str, n: int) -> date | datetime | str:
    """``d`` moved by ``n`` working days; an ISO string in gives an ISO string out."""
    value, was_text = _to_temporal(d)
    result = get_calendar().add_working_days(value, int(n))
    return result.isoformat() if was_text else result


def working_days_between(a: date | datetime | str, b: date | datetime | str) -> int:
    """Working days in (a, b]: negative if ``b`` is before ``a``."""
    return get_calendar().working_days_between(_to_temporal(a)[0], _to_temporal(b)[0])


def working_deadline(n: int) -> str:
    """ISO-8601 datetime ``n`` working days from now, for a ``timeDate`` timer expression."""
    return get_calendar().add_working_days(now(), int(n)).isoformat()


for _name, _fn in (
    ("now", now),
    ("today", today),
    ("add_working_days", add_working_days),
    ("working_days_between", working_days_between),
    ("working_deadline", working_deadline),
):
    register_helper(_name, _fn)


# ---------------------------------------------------------------------------------------------
# SpiffWorkflow integration


class RestrictedEnvironment(TaskDataEnvironment):
    """A ``TaskDataEnvironment`` that runs only restricted-compiled code."""

    def __init__(self) -> None:
        # Only the guards and the builtins go into the globals: SpiffWorkflow strips these names
        # from the task data after a script and refuses task data that would overwrite them.
        super().__init__({"__builtins__": _BUILTINS, **_GUARDS})

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        code = compile_script(expression, "eval")
        scope: dict[str, Any] = dict(external_context or {})
        scope.update(context)
        scope.update(self.globals)  # the guards always win over task data
        with _limited():
            return eval(code, scope)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = compile_script(script or "", "exec")
        external = external_context or {}
        self.check_for_overwrite(context, external)
        context.update(external)
        context.update(self.globals)
        try:
            with _limited():
                exec(code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external)
        return True

    def check_for_overwrite(self, context: dict[str, Any], external_context: dict[str, Any]) -> None:
        clashes = (set(self.globals) | set(external_context)) & set(context)
        if clashes:
            names = "、".join(sorted(clashes))
            raise ScriptError(f"任务数据中的字段与保留名称冲突，请改名：{names}")


_limited = script_limits.limited


class RestrictedScriptEngine(PythonScriptEngine):
    """``PythonScriptEngine`` over ``RestrictedEnvironment``; keeps ScriptError line numbers."""

    def __init__(self, environment: TaskDataEnvironment | None = None) -> None:
        super().__init__(environment or RestrictedEnvironment())

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            compile_script(expression, "eval")  # cached; gives refusals a Chinese message
        except ScriptError as err:
            message = f"表达式「{expression.strip()}」：{err.message}"
            raise WorkflowTaskException(message, task=task, exception=err, line_number=err.line) from err
        return super().evaluate(task, expression, external_context)

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        if isinstance(err, ScriptError):
            lines = (script or "").splitlines()
            line = err.line or 0
            error_line = lines[line - 1] if 0 < line <= len(lines) else ""
            spec = getattr(task, "task_spec", None)
            name = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None)
            message = f"脚本「{name}」（{spec.bpmn_id}）：{err.message}" if name else err.message
            return WorkflowTaskException(message, task=task, exception=err, line_number=line, error_line=error_line)
        return super().create_task_exec_exception(task, script, err)


def make_script_engine() -> PythonScriptEngine:
    """A script engine for workflows and decisions, using the restricted environment."""
    return RestrictedScriptEngine()
