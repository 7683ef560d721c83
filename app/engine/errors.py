"""Exceptions raised by the workflow engine core.

Hierarchy::

    EngineError            base; ``.message`` is Chinese and safe to show to users
    ├── ScriptError        a script/expression is refused or cannot compile (element id, line)
    └── SpecInvalid        a BPMN/DMN bundle failed validation (``.problems``)

``SpecProblem`` is a plain record describing one finding of validation or lint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


class EngineError(Exception):
    """Base class of engine errors; ``message`` is user-facing (Simplified Chinese)."""

    def __init__(self, message: str) -> None:
        # Keep the message as args[0]: SpiffWorkflow concatenates ``err.args[0]`` into its own errors.
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ScriptError(EngineError):
    """A script or expression that the restricted environment refuses."""

    def __init__(self, message: str, element_id: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.element_id = element_id
        self.line = line

    def __str__(self) -> str:
        where = []
        if self.element_id:
            where.append(f"元素 {self.element_id}")
        if self.line:
            where.append(f"第 {self.line} 行")
        return f"{'，'.join(where)}：{self.message}" if where else self.message


@dataclass(frozen=True)
class SpecProblem:
    """One validation or lint finding in a process bundle."""

    file: str
    element_id: str | None
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        loc = self.file
        if self.line:
            loc += f":{self.line}"
        if self.element_id:
            loc += f" [{self.element_id}]"
        label = "错误" if self.severity == "error" else "警告"
        return f"{loc} {label}：{self.message}"


class SpecInvalid(EngineError):
    """Raised by ``specs.build`` when validation finds errors."""

    def __init__(self, problems: list[SpecProblem], message: str | None = None) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(message or f"流程定义校验未通过：{len(errors)} 个错误")
        self.problems = problems
