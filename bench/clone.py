"""Process instances for the 3-year data set: a few real runs through the engine, then clones.

`record_templates` runs the benchmark process through `app.inbox.actions` (the same calls the
routes make) inside a transaction, snapshots every stage (the workflow JSON, the inbox row of each
step), and rolls everything back. `InstanceFactory` then turns a stage into the rows of one
instance: the workflow JSON with fresh task ids, a shifted clock and the clone's own data
(enterprise, initiator, approvers), its inbox rows, history events, notifications and audit
entries. Rows come out as dicts with explicit ids for bulk inserts.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bench import process
from bench.people import People

SHANGHAI = ZoneInfo("Asia/Shanghai")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STEP_IDS = [s[0] for s in process.STEPS]
# Who acts on each step: the initiator, or a holder of the lane's role (in the instance's district).
ROLE_OF = {tid: lane for tid, _name, lane, _kind, _form in process.STEPS}
# How long each step takes people, in hours (min, max).
STEP_HOURS = {"register": (0.1, 4), "review": (1, 72), "judge": (1, 48), "handle": (24, 216), "close": (1, 48)}
COMMENTS = {
    "review": ["同意，请总队研判", "情况属实，建议核查", "同意"],
    "judge": ["派区大队核查", "属实可能性大，请核查", "同意核查"],
    "close": ["同意办结", "整改到位，同意办结", "同意"],
}
FINDINGS = ["现场检查发现违规存放，已责令整改", "未发现线索反映的问题", "发现隐患已当场整改", "已立案调查"]
SOURCES = ["hotline", "report", "transfer", "inspection"]
MAX_RECIPIENTS = 50  # app.inbox.notify.MAX_ROLE_RECIPIENTS


@dataclass
class StepRow:
    """The inbox row of one step as the runtime created it."""

    step: str
    step_name: str
    kind: str
    method: str
    candidate_role: str | None
    to_initiator: bool
    priority: int
    spiff_task_id: str
    has_due: bool


@dataclass
class Stage:
    done: int  # steps completed (0..5); 5 = completed, -1 = rejected at review
    state_text: str
    status: str
    current_steps: list
    open_step: str | None
    times: list[float]  # template wall-clock time at start and after each step


@dataclass
class Templates:
    stages: dict[int, Stage] = field(default_factory=dict)
    rows: dict[str, StepRow] = field(default_factory=dict)  # approved path
    reject_rows: dict[str, StepRow] = field(default_factory=dict)
    timer_delta: float = 10 * 86400.0


def _row_info(row, initiator_id: int) -> StepRow:
    return StepRow(
        step=row.step,
        step_name=row.step_name,
        kind=row.kind,
        method=row.method,
        candidate_role=row.candidate_role,
        to_initiator=row.assignee_id == initiator_id,
        priority=row.priority,
        spiff_task_id=row.spiff_task_id,
        has_due=row.due_at is not None,
    )


def record_templates(people: People, rng: random.Random) -> Templates:
    """Run the approved path and a rejected one through the engine; snapshot; roll back."""
    from app.auth.models import User
    from app.extensions import db
    from app.inbox import actions
    from app.inbox.models import HumanTask

    district = next(d for (role, d) in people.by_role_district if role == "district_leader")
    who = {
        "register": people.pick(rng, "district_officer", district),
        "review": people.pick(rng, "district_leader", district),
        "judge": people.pick(rng, "section_chief"),
        "handle": people.pick(rng, "district_officer", district),
        "close": people.pick(rng, "district_leader", district),
    }
    users = {k: db.session.get(User, v["id"]) for k, v in who.items()}
    initiator = users["register"]
    out = Templates()

    def open_row(instance_id):
        return db.session.scalar(
            select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
        )

    def snap(inst, done, times) -> Stage:
        row = open_row(inst.id)
        return Stage(
            done=done,
            state_text=json.dumps(inst.state, ensure_ascii=False),
            status=inst.status,
            current_steps=list(inst.current_steps or []),
            open_step=row.step if row is not None else None,
            times=list(times),
        )

    try:
        inst = actions.start(process.PROCESS_ID, actor=initiator)
        times = [time.time()]
        out.stages[0] = snap(inst, 0, times)
        for k, tid in enumerate(STEP_IDS, start=1):
            row = open_row(inst.id)
            out.rows[tid] = _row_info(row, initiator.id)
            post = process.POSTS[tid]
            actions.complete(
                row,
                users[tid],
                action=post["action"],
                form_data=process.FORM_DATA.get(tid),
                comment=post.get("comment"),
            )
            db.session.flush()
            times.append(time.time())
            out.stages[k] = snap(inst, k, times)
        due = _find_event_value(json.loads(out.stages[4].state_text))
        if due is not None:
            out.timer_delta = due - times[3]
        # The rejected path: registered, then refused at the district review.
        inst = actions.start(process.PROCESS_ID, actor=initiator)
        times = [time.time()]
        for tid, action in (("register", "complete"), ("review", "reject")):
            row = open_row(inst.id)
            out.reject_rows[tid] = _row_info(row, initiator.id)
            actions.complete(
                row,
                users[tid],
                action=action,
                form_data=process.FORM_DATA.get(tid),
                comment="不属于本部门职责，不予立案",
            )
            db.session.flush()
            times.append(time.time())
        out.stages[-1] = snap(inst, -1, times)
    finally:
        db.session.rollback()
    return out


def _find_event_value(state: dict) -> float | None:
    for task in state["tasks"].values():
        value = (task.get("internal_data") or {}).get("event_value")
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value).timestamp()
            except ValueError:
                continue
    return None


@dataclass
class Ids:
    instance: int
    task: int
    event: int
    notification: int


@dataclass
class Plan:
    """One instance to generate, before ids are given (ids follow the start time)."""

    started: datetime
    stage: int
    initiator: dict
    district: str
    enterprise: dict
    step_times: list[datetime]  # start, then each completed step
    actors: dict[str, dict]


class InstanceFactory:
    """Turns plans into rows. Not thread-safe; one per generator run."""

    def __init__(self, templates: Templates, people: People, version_id: int, rng: random.Random):
        self.t = templates
        self.people = people
        self.version_id = version_id
        self.rng = rng
        self.audit: list[tuple] = []  # (at, actor_id, login, action, object_type, object_id, detail)
        self.day_seq: dict[str, int] = {}
        self.now = datetime.now(UTC)
        self.names = {u["id"]: u.get("name") for u in people.users}

    # -- planning -----------------------------------------------------------------------------

    def plan(self, *, stage: int, now: datetime, oldest: datetime, enterprises_by_district: dict) -> Plan:
        rng = self.rng
        kinds = [k for k in ("district_officer", "district_officer", "street_officer") if k in self.people.by_role]
        initiator = self.people.pick(rng, rng.choice(kinds))
        district = initiator["district"]
        steps = STEP_IDS[:2] if stage == -1 else STEP_IDS[:stage]
        hours = [rng.uniform(*STEP_HOURS[s]) for s in steps]
        if stage in (5, -1):
            start = oldest + timedelta(seconds=rng.uniform(0, max(1.0, (now - oldest).total_seconds() - 40 * 86400)))
        else:
            # Running: the open step was created at most a week ago (the handle timer, 10 days, is not due).
            current = now - timedelta(hours=rng.uniform(0.5, 7 * 24))
            start = current - timedelta(hours=sum(hours))
        times = [start]
        for h in hours:
            times.append(times[-1] + timedelta(hours=h))
        actors = {"register": initiator}
        for tid in steps[1:]:
            actors[tid] = self.people.pick(rng, ROLE_OF[tid], None if tid == "judge" else district)
        pool = enterprises_by_district.get(district) or next(iter(enterprises_by_district.values()))
        return Plan(start, stage, initiator, district, rng.choice(pool), times, actors)

    # -- rows ---------------------------------------------------------------------------------

    def _number(self, started: datetime) -> str:
        day = started.astimezone(SHANGHAI).strftime("%Y%m%d")
        self.day_seq[day] = self.day_seq.get(day, 0) + 1
        return f"XS{day}{self.day_seq[day]:05d}"

    def _state(self, stage: Stage, plan: Plan, data: dict, mapping: dict) -> dict:
        rng = self.rng

        def new_id(match):
            old = match.group(0)
            if old not in mapping:
                mapping[old] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            return mapping[old]

        state = json.loads(UUID_RE.sub(new_id, stage.state_text))
        template_times = stage.times
        clone_times = [t.timestamp() for t in plan.step_times]

        def shift(t: float) -> float:
            i = max(0, min(bisect.bisect_right(template_times, t) - 1, len(clone_times) - 1))
            return clone_times[i] + (t - template_times[i])

        for task in state["tasks"].values():
            task["last_state_change"] = shift(task["last_state_change"])
            internal = task.get("internal_data") or {}
            if "event_value" in internal and len(clone_times) > 3:
                due = datetime.fromtimestamp(clone_times[3] + self.t.timer_delta, UTC)
                internal["event_value"] = due.isoformat()
            for key in ("data", "delta"):
                if task.get(key):
                    _patch(task[key], data)
        if state.get("data"):
            _patch(state["data"], data)
        return state

    def build(self, plan: Plan, ids: Ids) -> dict[str, list]:
        """Rows of one instance: process_instances, human_tasks, instance_events, notifications."""
        rng = self.rng
        stage = self.t.stages[plan.stage]
        rows_by_step = self.t.reject_rows if plan.stage == -1 else self.t.rows
        ent = plan.enterprise
        initiator = plan.initiator
        iid = ids.instance
        ids.instance += 1
        title = f"{ent['name']}线索核查"
        number = self._number(plan.started)
        form = {
            "enterprise_name": ent["name"],
            "credit_code": ent["credit_code"],
            "source": rng.choice(SOURCES),
            "description": f"群众反映{ent['name']}存在安全生产违法行为，请核查",
        }
        handle_form = {"finding": rng.choice(FINDINGS), "hazards": rng.randint(0, 8), "penalty": rng.random() < 0.2}
        data = {
            "initiator": initiator["login"],
            "initiator_org": initiator["org_code"],
            **form,
            **{k: v for k, v in handle_form.items() if plan.stage >= 4},
            "_actors": plan.actors,
            "_times": plan.step_times,
        }
        mapping: dict[str, str] = {}
        state = self._state(stage, plan, data, mapping)
        finished = plan.stage in (5, -1)
        out: dict[str, list] = {"instances": [], "tasks": [], "events": [], "notifications": []}
        due_at = None
        if not finished and plan.stage == 3:
            due_at = datetime.fromtimestamp(plan.step_times[3].timestamp() + self.t.timer_delta, UTC)
        out["instances"].append(
            {
                "id": iid,
                "version_id": self.version_id,
                "process_id": process.PROCESS_ID,
                "business_key": None,
                "number": number,
                "title": title,
                "summary": {k: form[k] for k in ("enterprise_name", "credit_code", "source")},
                "org_id": initiator["org_id"],
                "initiator_id": initiator["id"],
                "status": "completed" if finished else "running",
                "state": state,
                "lock_version": 2 + max(plan.stage, 2),
                "next_timer_at": due_at,
                "current_steps": stage.current_steps,
                "started_at": plan.started,
                "updated_at": plan.step_times[-1],
                "ended_at": plan.step_times[-1] if finished else None,
            }
        )
        self._event(out, ids, iid, plan.started, initiator, "start", None, "发起", None, {"fields": []})
        self.audit.append(
            (
                plan.started,
                initiator["id"],
                initiator["login"],
                "process.start",
                "instance",
                str(iid),
                {"process": process.PROCESS_ID, "number": number},
            )
        )
        steps = ["register", "review"] if plan.stage == -1 else STEP_IDS[: plan.stage]
        open_step = stage.open_step
        for k, tid in enumerate([*steps, *([open_step] if open_step else [])]):
            info = rows_by_step.get(tid) or self.t.rows[tid]
            created = plan.step_times[k]
            done = k < len(steps)
            actor = plan.actors.get(tid) if done else None
            action = "reject" if plan.stage == -1 and tid == "review" else process.POSTS[tid]["action"]
            comment = (
                "不属于本部门职责，不予立案"
                if action == "reject"
                else rng.choice(COMMENTS[tid])
                if tid in COMMENTS
                else None
            )
            form_data = form if tid == "register" else handle_form if tid == "handle" else {}
            tid_row = ids.task
            ids.task += 1
            spiff_id = mapping.get(info.spiff_task_id, info.spiff_task_id)
            assignee = initiator["id"] if info.to_initiator else (actor["id"] if actor else None)
            due = created + timedelta(days=4) if info.has_due else None
            reminded = self._reminders(due, done)
            out["tasks"].append(
                {
                    "id": tid_row,
                    "instance_id": iid,
                    "spiff_task_id": spiff_id,
                    "group_id": f"{spiff_id}:{rng.getrandbits(32):08x}",
                    "step": info.step,
                    "step_name": info.step_name,
                    "process_id": process.PROCESS_ID,
                    "org_id": initiator["org_id"],
                    "kind": info.kind,
                    "method": info.method,
                    "seq": 0,
                    "candidate_role": info.candidate_role,
                    "assignee_id": assignee,
                    "status": "completed" if done else "open",
                    "outcome": action if done else None,
                    "comment": comment if done else None,
                    "form_data": form_data if done else None,
                    "priority": info.priority,
                    "due_at": due,
                    "remind_count": reminded[0],
                    "reminded_at": reminded[1],
                    "created_at": created,
                    "completed_at": plan.step_times[k + 1] if done else None,
                    "completed_by_id": actor["id"] if done else None,
                }
            )
            self._notify(out, ids, info, initiator, plan.district, title, tid_row, iid, created, read=done)
            if done:
                at = plan.step_times[k + 1]
                self._event(
                    out,
                    ids,
                    iid,
                    at,
                    actor,
                    action,
                    info.step,
                    info.step_name,
                    comment,
                    {"fields": sorted(form_data), "task": tid_row},
                )
                self.audit.append(
                    (
                        at,
                        actor["id"],
                        actor["login"],
                        f"task.{action}",
                        "task",
                        str(tid_row),
                        {"instance": iid, "step": info.step, "changed": sorted(form_data)},
                    )
                )
        if plan.stage == 5:
            self._event(out, ids, iid, plan.step_times[-1], None, "end", None, "办结", None, {})
        return out

    def _reminders(self, due: datetime | None, done: bool) -> tuple[int, datetime | None]:
        """What app.inbox.deadlines would have done to an open row by now (a live system's steady state):
        reminded a day before the due time, and after it until it stopped nagging (1 + 3 reminders)."""
        if done or due is None or due > self.now + timedelta(days=1):
            return 0, None
        if due > self.now:
            return 1, due - timedelta(days=1)
        return 4, min(self.now - timedelta(hours=4), due + timedelta(hours=12))

    def _event(self, out, ids: Ids, iid, at, actor, kind, step, step_name, comment, data) -> None:
        out["events"].append(
            {
                "id": ids.event,
                "instance_id": iid,
                "at": at,
                "actor_id": actor["id"] if actor else None,
                "actor_name": actor.get("name") if actor else None,
                "kind": kind,
                "step": step,
                "step_name": step_name,
                "comment": comment,
                "data": data,
            }
        )
        ids.event += 1

    def _notify(self, out, ids: Ids, info: StepRow, initiator, district, title, task_id, iid, created, *, read) -> None:
        if info.to_initiator:
            users = [initiator]
        elif info.candidate_role == "section_chief":
            users = self.people.by_role.get("section_chief", [])
        else:
            users = self.people.by_role_district.get((info.candidate_role, district), [])
        for user in users[:MAX_RECIPIENTS]:
            out["notifications"].append(
                {
                    "id": ids.notification,
                    "user_id": user["id"],
                    "kind": "new_task",
                    "title": f"新待办：{title} - {info.step_name}",
                    "url": f"/inbox/tasks/{task_id}",
                    "instance_id": iid,
                    "created_at": created,
                    "read_at": created + timedelta(hours=2) if read else None,
                }
            )
            ids.notification += 1


def _patch(d: dict, data: dict) -> None:
    """Give a task-data dict of the template the clone's values."""
    for key in ("initiator", "initiator_org", "enterprise_name", "credit_code", "source", "description"):
        if key in d:
            d[key] = data[key]
    for key in ("finding", "hazards", "penalty"):
        if key in d and key in data:
            d[key] = data[key]
    actors, times = data["_actors"], data["_times"]
    for key, value in list(d.items()):
        if key.endswith("_approvals") and isinstance(value, list):
            step = key[: -len("_approvals")]
            actor = actors.get(step)
            k = STEP_IDS.index(step) + 1 if step in STEP_IDS else None
            for entry in value:
                if actor and isinstance(entry, dict):
                    entry["user"] = actor["id"]
                    if k is not None and k < len(times):
                        entry["at"] = times[k].isoformat()
    if "last_actor" in d:
        last = [s for s in STEP_IDS if s in actors]
        if last:
            d["last_actor"] = actors[last[-1]]["login"]
