"""How a finished instance ended: 已办结, or 已拒绝 when the path it took was a rejection.

An end event may say so itself with the property ``endStatus`` (``completed`` / ``rejected``);
otherwise an instance whose last decision was a rejection (``approved`` is False in the data the end
event saw) ended rejected. Termination is an act, not an end event: ``runtime.terminate`` sets it.
"""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

ENDED = ("completed", "rejected", "terminated")
END_STATUSES = ("completed", "rejected")


def final_status(wf) -> str:
    """``completed`` or ``rejected`` for a workflow that has completed."""
    ends = [
        t
        for t in wf.get_tasks(state=TaskState.COMPLETED)
        if "EndEvent" in type(t.task_spec).__name__ and t.task_spec.bpmn_id
    ]
    if not ends:
        return "completed"
    last = max(ends, key=lambda t: t.last_state_change)
    props = dict((getattr(last.task_spec, "extensions", None) or {}).get("properties") or {})
    declared = (props.get("endStatus") or "").strip()
    if declared in END_STATUSES:
        return declared
    return "rejected" if last.data.get("approved") is False else "completed"
