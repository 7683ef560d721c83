"""流程预测: the steps ahead and who will act, by running a copy of the instance forward.

The copy is loaded from the saved state with a script engine whose service tasks do nothing, every
READY user task is completed with the current data and `approved = True` (the happy path), and
parallel branches and gateway conditions are evaluated by the engine itself on the real data.
Nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.auth.models import Role, User
from app.engine import assign, deploy, serializer
from app.engine.inbox import config_for, instance_org
from app.engine.models import ProcessInstance
from app.engine.services import DuchaScriptEngine
from app.extensions import db

MAX_STEPS = 40


class _DryEngine(DuchaScriptEngine):
    def call_service(self, task, operation_name: str, operation_params: dict, **_kwargs) -> str:
        return "null"


_DRY = _DryEngine()


@dataclass
class PredictedStep:
    step: str
    name: str
    people: list[str] = field(default_factory=list)
    current: bool = False


def _people(instance: ProcessInstance, task) -> list[str]:
    _info, cfg = config_for(instance, task)
    org = assign.task_org(cfg, task.data, instance_org(instance))
    try:
        slots = assign.resolve(
            cfg,
            lane=task.task_spec.lane,
            data=task.data,
            org=org,
            initiator_id=instance.initiator_id,
            evaluate=lambda expr: task.workflow.script_engine.evaluate(task, expr),
        )
    except Exception:  # an expression that needs data not there yet
        return ["（待定）"]
    names = []
    roles = {r.code: r.name for r in db.session.scalars(select(Role))}
    for slot in slots:
        if slot.user_id:
            user = db.session.get(User, slot.user_id)
            names.append(user.name if user else "?")
        elif slot.role:
            names.append(f"{org.short_name or org.name}·{roles.get(slot.role, slot.role)}")
    return names or ["（无审批人，按节点设置处理）"]


def predict(instance: ProcessInstance) -> list[PredictedStep]:
    if instance.status != "running":
        return []
    spec, subs = deploy.specs_for(instance.spec_info)
    wf = serializer.load(instance.state, spec, subs, _DRY)
    steps: list[PredictedStep] = []
    seen_current = {str(t.id) for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    for _ in range(MAX_STEPS):
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        for task in ready:
            name = task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name
            steps.append(
                PredictedStep(
                    step=task.task_spec.bpmn_id or task.task_spec.name,
                    name=name,
                    people=_people(instance, task),
                    current=str(task.id) in seen_current,
                )
            )
            task.set_data(approved=True, outcome="approve")
            task.run()
        try:
            wf.do_engine_steps()
        except Exception:  # the happy path needs data people have not typed yet: stop predicting there
            break
    return steps
