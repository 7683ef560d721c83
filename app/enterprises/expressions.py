"""Restricted expressions for rules administrators write (trigger conditions, automatic labels).

Compiled and evaluated by the engine's restricted environment (app/engine/scripting.py), so a rule can
read the names it is given and call the safe builtins, nothing else."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from app.engine.scripting import RestrictedEnvironment, lint_script


@lru_cache(maxsize=1)
def _env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


def problems(expression: str, names: dict[str, Any] | None = None) -> list[str]:
    """Why an expression is refused (syntax, forbidden constructs, failure on sample names)."""
    text = (expression or "").strip()
    if not text:
        return ["条件表达式不能为空"]
    found = [f"第 {line or 1} 行：{msg}" if line else msg for line, msg in lint_script(text, "eval")]
    if not found and names is not None:
        try:
            evaluate(text, names)
        except Exception as exc:  # shown to the administrator, in Chinese, with the engine's reason
            found.append(f"用样例数据计算失败：{type(exc).__name__}: {exc}")
    return found


def evaluate(expression: str, names: dict[str, Any]) -> bool:
    return bool(_env().evaluate(expression.strip(), dict(names)))


def safe_evaluate(expression: str, names: dict[str, Any]) -> bool:
    """Evaluate; a record a rule cannot read (missing field, wrong type) does not match."""
    try:
        return evaluate(expression, names)
    except Exception:
        return False
