"""Attack: scripts without CPU or memory limits (issue 14).

A script task with a 20-million-step loop, ``'x' * 400 MiB`` or ``7 ** 3000000`` used to run inside the
web request that started the process. Now each stops at its limit within about a second, and the step
becomes an incident whose Chinese message names the element."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from app.engine.models import Incident, ProcessInstance
from app.extensions import db
from tests import bpmn_builder

PAYLOADS = {
    "loop": ("n = 0\nwhile n < 20000000:\n    n = n + 1", "的上限"),
    "for_loop": ("n = 0\nfor i in range(3000000):\n    for j in range(10):\n        n = n + 1", "的上限"),
    "memory": ("x = 'x' * (400 * 1024 * 1024)", "字符串或列表过大"),
    "bigint": ("y = 7 ** 3000000", "整数过大"),
    "doubling": ("s = 'x'\nfor i in range(40):\n    s = s + s", "字符串或列表过大"),
}


def _with_script(pid: str, script: str) -> str:
    xml = bpmn_builder.linear(pid, [("node", "审批", {"assignee": "users:hp_leader"})])
    xml = xml.replace(
        '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="fill" />',
        '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="bomb" />\n'
        '<bpmn:sequenceFlow id="f_bomb" sourceRef="bomb" targetRef="fill" />\n'
        '<bpmn:scriptTask id="bomb" name="计算风险"><bpmn:incoming>f_start</bpmn:incoming>'
        f"<bpmn:outgoing>f_bomb</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>\n",
    )
    return xml.replace(
        "<bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>f_fill",
        "<bpmn:incoming>f_bomb</bpmn:incoming><bpmn:outgoing>f_fill",
    )


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_script_limits_stop_the_attack_and_name_the_element(app, ctx, login_as, name):
    script, expected = PAYLOADS[name]
    pid = f"bomb_{name}"
    bpmn_builder.deploy_xml(pid, _with_script(pid, script))
    c = login_as("hp_officer")
    began = time.perf_counter()
    resp = c.post(f"/inbox/start/{pid}", data={})
    elapsed = time.perf_counter() - began
    assert resp.status_code in (302, 200, 422), resp.status_code
    inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == pid))
    assert inst is not None and inst.status == "error"
    incident = db.session.scalar(select(Incident).where(Incident.instance_id == inst.id))
    assert "计算风险" in incident.message and "bomb" in incident.message and expected in incident.message
    assert incident.step == "bomb"
    assert elapsed < 15, f"the limit took {elapsed:.1f} s"  # generous: the machine is shared


def test_ordinary_scripts_still_run(app, ctx, login_as):
    script = "total = sum(i * i for i in range(1000))\nlabel = '合计' + str(total)\nwidth = 'x'.ljust(20)"
    bpmn_builder.deploy_xml("calm", _with_script("calm", script))
    login_as("hp_officer").post("/inbox/start/calm", data={})
    inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == "calm"))
    assert inst.status == "running"
    assert db.session.scalar(select(Incident.id).where(Incident.instance_id == inst.id)) is None


def test_a_script_cannot_swallow_the_limit(ctx):
    from app.engine.errors import ScriptError
    from app.engine.scripting import RestrictedEnvironment

    script = "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass"
    with pytest.raises(ScriptError, match="的上限"):
        RestrictedEnvironment().execute(script, {})
    for src, text in [
        ("q = 'ab'.ljust(10 ** 9)", "过大"),
        ("l = [1]\nfor i in range(40):\n    l.extend(l)", "过大"),
        ("w = 'a'.replace('', 'b' * 3000000)", "过大"),
        ("u = '%999999999d' % 1", "格式化宽度"),
        ("v = sum([[1]] * 1000, [])", "sum 只能"),
        ("f = lambda n: 1 if n < 1 else f(n - 1) + f(n - 1)\nr = f(40)", "的上限"),
        ("z = [*range(10 ** 9)]", "过大"),
    ]:
        with pytest.raises(ScriptError, match=text):
            RestrictedEnvironment().execute(src, {})
    with pytest.raises(ScriptError, match="格式宽度过大"):
        RestrictedEnvironment().execute("t = f'{1:>999999999}'", {})
