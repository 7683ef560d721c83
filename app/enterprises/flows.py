"""Start a process of this area through the runtime's one entry point (start-roles, policies, sync, save)."""

from __future__ import annotations

from app.engine import runtime


def start_process(process_id: str, *, actor, org, data: dict, business_key: str, entry: str):
    """`entry` is the page or engine that starts it, listed in the process's startRoles."""
    return runtime.start(process_id, actor=actor, org=org, data=data, business_key=business_key, entry=entry)
