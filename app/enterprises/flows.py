"""Start a process of this area the way the clue module does (runtime start, then inbox sync and save).

One place, so the runtime's single entry point (app/engine/runtime.py) replaces only this body."""

from __future__ import annotations

from app.engine import runtime


def start_process(process_id: str, *, actor, org, data: dict, business_key: str):
    from app.inbox import actions

    instance, wf = runtime.start(process_id, initiator=actor, org=org, data=data, business_key=business_key)
    actions.after_engine(instance, wf, open_rows=[])
    return instance
