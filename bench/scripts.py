"""Cost of the script limits (app/engine/script_limits.py) per script call.

Runs typical scripts and gateway conditions through the restricted environment with the limits (steps,
sizes, time) and through plain RestrictedPython without them, and prints microseconds per call and the
difference. No database; run with `.venv/bin/python -m bench.scripts [--repeat N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import time

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import safer_getattr

from app.engine import scripting
from app.engine.scripting import RestrictedEnvironment

CASES = {
    "condition `amount > 10000`": ("eval", "amount > 10000", {"amount": 20000}),
    "script: 3 assignments": (
        "exec",
        "total = amount * 2\nlabel = '金额' + str(total)\napproved = total > 100",
        {"amount": 20000},
    ),
    "script: loop over 100 items": (
        "exec",
        "total = 0\nfor item in items:\n    total = total + item['amount']\ndel item",
        {"items": [{"amount": i} for i in range(100)]},
    ),
}


def _plain(mode: str, source: str):
    """The same environment, with code compiled without the limit transformer and the bare guards."""
    code = (compile_restricted_eval if mode == "eval" else compile_restricted_exec)(source).code
    env = RestrictedEnvironment()
    env.globals.update(
        {
            "_getiter_": iter,
            "_getattr_": safer_getattr,
            "__builtins__": {**scripting._BUILTINS, "range": range, "sum": sum},
        }
    )

    def run(data):
        saved = scripting.compile_script, scripting._limited
        scripting.compile_script, scripting._limited = (lambda *a: code), contextlib.nullcontext
        try:
            context = dict(data)
            return env.evaluate(source, context) if mode == "eval" else env.execute(source, context)
        finally:
            scripting.compile_script, scripting._limited = saved

    return run


def _limited(mode: str, source: str):
    env = RestrictedEnvironment()

    def run(data):
        context = dict(data)
        return env.evaluate(source, context) if mode == "eval" else env.execute(source, context)

    return run


def _time(fn, data, repeat: int) -> float:
    fn(dict(data))  # warm up (compile caches)
    start = time.perf_counter()
    for _ in range(repeat):
        fn(dict(data))
    return (time.perf_counter() - start) / repeat * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20000)
    args = parser.parse_args(argv)
    print(f"{'case':32} {'plain µs':>10} {'limited µs':>11} {'extra µs':>9}")
    for name, (mode, source, data) in CASES.items():
        plain = _time(_plain(mode, source), data, args.repeat)
        limited = _time(_limited(mode, source), data, args.repeat)
        print(f"{name:32} {plain:10.2f} {limited:11.2f} {limited - plain:9.2f}")
    began = time.perf_counter()
    try:
        RestrictedEnvironment().execute("while True:\n    pass", {})
    except Exception as exc:  # ScriptError: the step limit
        print(f"endless loop stopped after {time.perf_counter() - began:.2f} s: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
