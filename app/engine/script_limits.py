"""CPU and memory limits of restricted scripts (script tasks, pre/post scripts, conditions, DMN entries).

RestrictedPython alone bounds neither: ``while True: pass``, ``"x" * 400 * 2**20`` or ``7 ** 3000000`` ran
inside a web request or the scheduler. Scripts run in the web process (a worker process per call would
cost milliseconds per condition), so the limits are built into the compiled code:

- Steps: every loop iteration (``for`` and comprehensions through ``_getiter_``, ``while`` bodies), every
  call of a function or lambda defined in the script and every element unpacked with ``*`` costs a step;
  at most MAX_STEPS per evaluation, and at most MAX_SECONDS of wall time (checked every 1,024 steps).
- Sizes, checked *before* the allocation: ``+ * ** << %`` (and ``+= *=`` ...) on strings, lists, tuples
  and integers; ``range``; the string/list methods that amplify (ljust, rjust, center, zfill, expandtabs,
  replace, join, extend; RestrictedPython refuses str.format already); f-string and %-format widths.
  Results stay under MAX_LENGTH elements or characters and MAX_INT_BITS bits.
- ``sum`` adds numbers only (adding lists in C is quadratic).

Exceeding a limit raises ``LimitExceeded`` (a BaseException, so a script's ``except Exception`` cannot
swallow it); the environment turns it into a ``ScriptError`` whose Chinese message names the element.
MemoryError and RecursionError are reported the same way.
"""

from __future__ import annotations

import ast
import re
import threading
import time
from typing import Any

from RestrictedPython.Guards import safer_getattr

from app.engine.errors import ScriptError

MAX_STEPS = 1_000_000
MAX_SECONDS = 2.0
MAX_LENGTH = 4_000_000
MAX_INT_BITS = 100_000
MAX_FORMAT_WIDTH = 100_000


class LimitExceeded(BaseException):  # a signal, not an error a script may catch
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Budget(threading.local):
    steps = 0
    deadline = 0.0
    depth = 0


_budget = _Budget()


class limited:  # a context manager, named like one
    """One evaluation's allowance (nested evaluations share the outer one); a limit, MemoryError or
    RecursionError leaves it as a ScriptError with a Chinese message."""

    __slots__ = ()

    def __enter__(self):
        if _budget.depth == 0:
            _budget.steps, _budget.deadline = 0, time.monotonic() + MAX_SECONDS
        _budget.depth += 1
        return self

    def __exit__(self, typ, exc, tb):
        _budget.depth -= 1
        if typ is None:
            return False
        if issubclass(typ, LimitExceeded):
            raise ScriptError(exc.message) from None
        if issubclass(typ, MemoryError):
            raise ScriptError("脚本占用内存过多，已中止") from None
        if issubclass(typ, RecursionError):
            raise ScriptError("脚本递归层数过深，已中止") from None
        return False


def step() -> None:
    _budget.steps += 1
    if _budget.steps > MAX_STEPS or not _budget.steps & 1023:
        step_check()


def step_check() -> None:
    if _budget.steps > MAX_STEPS:
        raise LimitExceeded(f"脚本执行超过 {MAX_STEPS:,} 步的上限（可能是死循环），已中止")
    if time.monotonic() > _budget.deadline:
        raise LimitExceeded(f"脚本执行超过 {MAX_SECONDS:g} 秒的上限，已中止")


class _Counted:
    __slots__ = ("_it",)

    def __init__(self, iterable: Any) -> None:
        self._it = iter(iterable)

    def __iter__(self):
        return self

    def __next__(self):
        b = _budget
        b.steps += 1
        if b.steps > MAX_STEPS or not b.steps & 1023:
            step_check()
        return next(self._it)


def getiter(iterable: Any) -> _Counted:
    return _Counted(iterable)


def _too_long(n: int) -> None:
    if n > MAX_LENGTH:
        raise LimitExceeded(f"脚本产生的字符串或列表过大（超过 {MAX_LENGTH:,} 个元素），已中止")


def _too_big(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"脚本计算的整数过大（超过 {MAX_INT_BITS:,} 位二进制），已中止")


_SEQ = (str, bytes, list, tuple, bytearray)
_DIGITS = len(str(MAX_FORMAT_WIDTH))  # a width with this many digits is at least MAX_FORMAT_WIDTH
_WIDTH_RE = re.compile(r"\d{" + str(_DIGITS) + ",}")
_PERCENT_RE = re.compile(r"%[-+ #0]*(\*|\d{" + str(_DIGITS) + ",})")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_binop(op: str, a: Any, b: Any) -> None:
    """Refuse an operation whose result would be too large, before Python allocates it."""
    if op in ("+", "+="):
        if isinstance(a, _SEQ) and isinstance(b, _SEQ):
            _too_long(len(a) + len(b))
    elif op in ("*", "*="):
        if isinstance(a, _SEQ) and _is_int(b):
            _too_long(len(a) * max(b, 0))
        elif isinstance(b, _SEQ) and _is_int(a):
            _too_long(len(b) * max(a, 0))
        elif _is_int(a) and _is_int(b):
            _too_big(a.bit_length() + b.bit_length())
    elif op in ("**", "**="):
        if _is_int(a) and _is_int(b) and b > 0:
            _too_big(max(a.bit_length(), 1) * b if abs(a) > 1 else 1)
    elif op in ("<<", "<<="):
        if _is_int(a) and _is_int(b) and a:
            _too_big(a.bit_length() + max(b, 0))
    elif op in ("%", "%=") and isinstance(a, (str, bytes)):
        text = a if isinstance(a, str) else a.decode("latin-1")
        if _PERCENT_RE.search(text):
            raise LimitExceeded("格式化宽度过大或使用了 * 宽度，已中止")


_OPS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


def binop(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        if isinstance(a, _SEQ) and isinstance(b, _SEQ):
            _too_long(len(a) + len(b))
        return a + b
    if op == "%":
        if isinstance(a, (str, bytes)):
            check_binop(op, a, b)
        return a % b
    check_binop(op, a, b)
    if op == "*":
        return a * b
    if op == "**":
        return a**b
    return a << b


def bounded_range(*args: int) -> range:
    r = range(*args)
    _too_long(len(r))
    return r


def numbers_sum(iterable: Any, start: Any = 0) -> Any:
    if not isinstance(start, (int, float)) and type(start).__name__ != "Decimal":
        raise LimitExceeded("sum 只能对数字求和")
    return sum(iterable, start)


def _sized_method(obj: Any, name: str, method: Any) -> Any:
    def width_checked(width, *rest):
        _too_long(int(width))
        return method(width, *rest)

    def expandtabs(tabsize=8):
        _too_long(len(obj) + obj.count("\t" if isinstance(obj, str) else b"\t") * max(int(tabsize), 0))
        return method(tabsize)

    def replace(old, new, count=-1):
        hits = obj.count(old) if old else len(obj) + 1
        if count >= 0:
            hits = min(hits, count)
        _too_long(len(obj) + hits * max(len(new) - len(old), 0))
        return method(old, new, count)

    def join(iterable):
        items = list(getiter(iterable))
        _too_long(sum(len(x) for x in items if isinstance(x, _SEQ)) + len(obj) * max(len(items) - 1, 0))
        return method(items)

    def extend(iterable):
        if hasattr(iterable, "__len__"):
            _too_long(len(obj) + len(iterable))
            return method(iterable)
        return method(list(getiter(iterable)))

    wrappers = {
        "ljust": width_checked,
        "rjust": width_checked,
        "center": width_checked,
        "zfill": width_checked,
        "expandtabs": expandtabs,
        "replace": replace,
        "join": join,
        "extend": extend,
    }
    return wrappers.get(name, method)


_AMPLIFYING = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "replace", "join", "extend"})


def getattr_(obj: Any, name: str, default: Any = None) -> Any:
    value = safer_getattr(obj, name, default)
    if name in _AMPLIFYING and isinstance(obj, _SEQ):
        return _sized_method(obj, name, value)
    return value


GUARDS = {"_getiter_": getiter, "_getattr_": getattr_, "_step_": step, "_binop_": binop}
BUILTINS = {"range": bounded_range, "sum": numbers_sum}


def _call(name: str, *args: ast.expr, at: ast.AST) -> ast.Call:
    """A call of a guard, located at `at` (compile() needs line numbers on every node)."""
    call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])
    for node in ast.walk(call):
        if "lineno" in node._attributes and getattr(node, "lineno", None) is None:
            ast.copy_location(node, at)
    return call


class LimitTransformer:
    """Mixed into the RestrictedPython policy: step counting and size checks in the compiled code."""

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_step_", at=node)), node))
        return node

    def _count_calls(self, node):
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_step_", at=node)), node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return self._count_calls(super().visit_FunctionDef(node))

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        counted = ast.BoolOp(op=ast.Or(), values=[_call("_step_", at=node.body), node.body])
        node.body = ast.copy_location(counted, node.body)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        op = _OPS.get(type(node.op))
        if op is None:
            return node
        return _call("_binop_", ast.Constant(op), node.left, node.right, at=node)

    def visit_Starred(self, node: ast.Starred) -> Any:
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_getiter_", node.value, at=node.value)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if any(isinstance(p, ast.FormattedValue) for p in parts):
                self.error(node, "f-string 中不允许使用动态的格式宽度")
            elif any(isinstance(p, ast.Constant) and _WIDTH_RE.search(str(p.value)) for p in parts):
                self.error(node, "f-string 的格式宽度过大")
        return super().visit_FormattedValue(node)
