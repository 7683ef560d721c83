"""The simple designer's compiler: every node kind and branch kind compiles to BPMN that validates,
deploys and runs the expected path as real users; tree → BPMN → tree is identical; BPMN outside the
subset is refused with the element that does not fit."""

from __future__ import annotations

import copy
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from lxml import etree
from sqlalchemy import select

from app.designer import services, templates
from app.designer.compile import BPMN, BPMNDI, compile_tree, to_bpmn
from app.designer.parse import OutsideSubset, condition_from_text, parse_bpmn
from app.designer.tree import check, normalize
from app.engine import runtime, timers
from app.engine.models import Incident, InstanceEvent, ProcessInstance
from app.extensions import db
from app.inbox import actions, queries
from app.inbox.models import CarbonCopy, HumanTask
from app.models_base import utcnow
from tests import bpmn_builder
from tests.conftest import DATA, user

REQUEST = "simple_request.schema.json"


# ---------------------------------------------------------------------------------------------
# helpers


def approval(node_id, assignee, name=None, **props):
    return {"id": node_id, "type": "approval", "name": name or node_id, "props": {"assignee": assignee, **props}}


def task(node_id, assignee, name=None, **props):
    return {"id": node_id, "type": "task", "name": name or node_id, "props": {"assignee": assignee, **props}}


def rules(*items, match="all"):
    return {"match": match, "rules": [{"field": f, "op": op, "value": v} for f, op, v in items]}


def make_tree(pid, nodes, *, form=REQUEST, name=None):
    return normalize(
        {
            "process": {"id": pid, "name": name or pid, "props": {"titleRule": "{subject}"}},
            "start": {"form": form},
            "nodes": nodes,
        }
    )


def deploy_tree(tree):
    version = services.deploy_tree(tree, user("procadmin"), new=True)
    db.session.commit()
    return version


def start(pid, login="hp_officer", **data):
    data = {"subject": "设计器事项", "category": "inspection", "amount": 100, **data}
    instance = actions.start(pid, actor=user(login), data=data)
    db.session.commit()
    return instance.id


def todo(login, instance_id):
    rows = db.session.scalars(queries.todo(user(login), queries.Filters()))
    return [r for r in rows if r.instance_id == instance_id]


def act(login, instance_id, action, step=None, comment=None, **form):
    rows = [r for r in todo(login, instance_id) if step is None or r.step == step]
    assert rows, f"{login} has nothing to do in {instance_id} (step {step}): {open_steps(instance_id)}"
    actions.complete(rows[0], user(login), action=action, form_data=form, comment=comment)
    db.session.commit()


def open_steps(instance_id):
    stmt = select(HumanTask.step).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
    return sorted(set(db.session.scalars(stmt)))


def status(instance_id):
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance_id).status


def data_of(instance_id):
    instance = db.session.get(ProcessInstance, instance_id)
    return runtime.instance_data(runtime.load(instance))


def everything_tree(pid="designer_all"):
    """One tree using every node kind and every condition form."""
    return make_tree(
        pid,
        [
            approval(
                "a_leader", "leader", "直属领导审批", method="single", rejectPolicy="end", reasonRequired="reject"
            ),
            task("t_fill", "initiator", "补充材料", formJsonSchemaFilename=REQUEST, fieldPermissions="amount:readonly"),
            {"id": "cc_1", "type": "cc", "name": "抄送领导", "users": ["leader", "hp_leader"], "note": "请知悉"},
            {
                "id": "cond",
                "type": "condition",
                "name": "按金额",
                "branches": [
                    {
                        "id": "big",
                        "name": "大额",
                        "condition": rules(("amount", ">", 10000), ("category", "in", ["inspection", "purchase"])),
                        "nodes": [
                            approval("a_city", "users:leader", "市领导审批", method="all", rejectPolicy="terminate")
                        ],
                    },
                    {
                        "id": "odd",
                        "name": "表达式",
                        "condition": {"expression": "amount % 2 == 1 and (subject or description)"},
                        "nodes": [],
                    },
                    {
                        "id": "text",
                        "name": "含关键字",
                        "condition": rules(
                            ("subject", "contains", "加急"), ("description", "empty", None), match="any"
                        ),
                        "nodes": [],
                    },
                    {"id": "other", "name": "其他情况", "condition": None, "nodes": []},
                ],
            },
            {
                "id": "incl",
                "type": "inclusive",
                "name": "包容",
                "branches": [
                    {
                        "id": "i_a",
                        "name": "检查",
                        "condition": rules(("category", "==", "inspection")),
                        "nodes": [{"id": "d_hours", "type": "delay", "name": "等两小时", "amount": 2, "unit": "hours"}],
                    },
                    {
                        "id": "i_b",
                        "name": "不是采购",
                        "condition": rules(("category", "not_in", ["purchase"]), ("subject", "not_empty", None)),
                        "nodes": [
                            {
                                "id": "d_days",
                                "type": "delay",
                                "name": "等三个工作日",
                                "amount": 3,
                                "unit": "working_days",
                            }
                        ],
                    },
                    {"id": "i_else", "name": "其他情况", "condition": None, "nodes": []},
                ],
            },
            {
                "id": "par",
                "type": "parallel",
                "name": "并行",
                "branches": [
                    {
                        "id": "p_a",
                        "name": "记录",
                        "nodes": [
                            {
                                "id": "upd",
                                "type": "trigger",
                                "name": "更新状态",
                                "mode": "update",
                                "assignments": [
                                    {"field": "state", "value": "已审批"},
                                    {"field": "score", "value": 3.5},
                                ],
                            },
                            {"id": "d_min", "type": "delay", "name": "等十分钟", "amount": 10, "unit": "minutes"},
                        ],
                    },
                    {
                        "id": "p_b",
                        "name": "通知",
                        "nodes": [
                            {
                                "id": "hook",
                                "type": "trigger",
                                "name": "通知外部系统",
                                "mode": "http",
                                "url": "https://example.invalid/hook",
                                "method": "POST",
                                "fields": ["subject", "amount"],
                                "timeout": 5,
                                "result": "hook_result",
                                "onError": "continue",
                            },
                            {"id": "d_day", "type": "delay", "name": "等一天", "amount": 1, "unit": "days"},
                        ],
                    },
                    {"id": "p_c", "name": "空分支", "nodes": []},
                ],
            },
            {"id": "sub", "type": "subprocess", "name": "子流程", "process": "designer_child"},
        ],
    )


def child_tree():
    return make_tree("designer_child", [task("child_task", "initiator", "子流程办理")], name="子流程")


# ---------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("key", sorted(templates.TEMPLATES))
def test_template_round_trip_is_identical(key):
    tree = templates.template_tree(key)
    tree["process"]["id"] = f"tpl_{key}"
    assert parse_bpmn(to_bpmn(tree)) == tree


def test_tree_with_every_node_kind_round_trips():
    tree = everything_tree()
    xml = to_bpmn(tree)
    assert parse_bpmn(xml) == tree
    assert to_bpmn(parse_bpmn(xml)) == xml  # and the BPMN is stable too
    kinds = {n["type"] for n in _walk(tree["nodes"])}
    assert kinds == {"approval", "task", "cc", "condition", "inclusive", "parallel", "delay", "trigger", "subprocess"}


def test_instructions_for_the_end_user_round_trip_and_reach_the_task(ctx):
    """办理说明 (spiffworkflow:instructionsForEndUser) is a field of the designer, not a refusal: processes
    written elsewhere with it open in the simple designer, and the text reaches the task."""
    tree = everything_tree()
    task = next(n for n in _walk(tree["nodes"]) if n["type"] == "task")
    task["props"]["instructions"] = "请核实现场照片后提交。"
    xml = to_bpmn(tree)
    assert "<spiffworkflow:instructionsForEndUser>请核实现场照片后提交。</spiffworkflow:instructionsForEndUser>" in xml
    assert 'name="instructions"' not in xml  # its own element, not a property
    assert parse_bpmn(xml) == tree and to_bpmn(parse_bpmn(xml)) == xml
    opened = 0
    for path in sorted((DATA.parent.parent / "workflows").glob("*.bpmn")):
        text = path.read_text(encoding="utf-8")
        if "instructionsForEndUser" not in text:
            continue
        try:
            parsed = parse_bpmn(text)
        except OutsideSubset as exc:  # outside the subset for another reason, never for the instructions
            assert "instructionsForEndUser" not in str(exc), (path.name, str(exc))
            continue
        assert any("instructions" in n.get("props", {}) for n in _walk(parsed["nodes"])), path.name
        opened += 1
    print(f"shipped processes with instructions that open in the simple designer: {opened}")


def _walk(nodes):
    for n in nodes:
        yield n
        for b in n.get("branches") or []:
            yield from _walk(b["nodes"])


def test_compiled_bpmn_has_a_diagram_for_every_element():
    xml = to_bpmn(everything_tree())
    root = etree.fromstring(xml.encode())
    process = root.find(f"{{{BPMN}}}process")
    elements = {el.get("id") for el in process if el.get("id")}
    drawn = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")}
    assert elements == drawn
    assert root.find(f"{{{BPMN}}}process/{{{BPMN}}}laneSet") is None  # no lanes: assignees say who acts


def test_conditions_read_back_as_rules_or_expressions():
    assert condition_from_text("amount>10000") == rules(("amount", ">", 10000))
    assert condition_from_text('amount >= 5 or category == "a"') == rules(
        ("amount", ">=", 5), ("category", "==", "a"), match="any"
    )
    assert condition_from_text("x in [1, 2]") == rules(("x", "in", [1, 2]))
    assert condition_from_text("a > 1 and (b or c > 2)") == {"expression": "a > 1 and (b or c > 2)"}
    assert condition_from_text("len(items) > 2") == {"expression": "len(items) > 2"}


# ---------------------------------------------------------------------------------------------
# validation and deployment


@pytest.mark.parametrize("key", sorted(templates.TEMPLATES))
def test_templates_validate_and_deploy(ctx, key):
    tree = templates.template_tree(key)
    tree["process"]["id"] = f"tpl_{key}"
    checked = services.check(tree)
    assert checked.errors == 0, checked.problems
    version = deploy_tree(tree)
    assert version.model.process_id == f"tpl_{key}" and version.version == 1
    assert version.forms  # the template's forms travel with the version


def test_every_node_kind_validates_and_deploys(ctx):
    deploy_tree(child_tree())
    tree = everything_tree()
    checked = services.check(tree)
    assert [p for p in checked.problems if p["severity"] == "error"] == []
    version = deploy_tree(tree)
    assert "designer_child.bpmn" in version.extra_bpmn


def test_structural_problems_are_chinese_and_pinned_on_nodes(ctx):
    tree = make_tree(
        "bad",
        [
            approval("a1", ""),
            {
                "id": "c1",
                "type": "condition",
                "branches": [{"id": "b1", "name": "条件1", "condition": rules(), "nodes": []}],
            },
            {"id": "cc", "type": "cc", "users": ["nobody_here"]},
        ],
    )
    problems = services.check(tree).problems
    by_node = {p["node_id"]: p["message"] for p in problems}
    assert "还没有设置审批人" in by_node["a1"]
    assert "至少需要两个分支" in by_node["c1"] or "其他情况" in by_node["c1"]
    assert "还没有设置条件" in by_node["b1"]
    assert "nobody_here" in by_node["cc"] and "不存在" in by_node["cc"]
    with pytest.raises(services.DesignInvalid):
        services.deploy_tree(tree, user("procadmin"), new=True)


def test_engine_problems_map_back_to_the_node(ctx):
    tree = make_tree(
        "bad_expr",
        [
            {
                "id": "c1",
                "type": "condition",
                "branches": [
                    {"id": "b1", "name": "坏表达式", "condition": {"expression": "__import__('os')"}, "nodes": []},
                    {"id": "b2", "name": "其他情况", "condition": None, "nodes": []},
                ],
            },
            task("t1", "initiator"),
        ],
    )
    problems = [p for p in services.check(tree).problems if p["severity"] == "error"]
    assert problems and problems[0]["node_id"] == "b1" and "条件表达式" in problems[0]["message"]


# ---------------------------------------------------------------------------------------------
# running: approval, task, rejection end, terminate


def test_approval_chain_and_rejection_ends_the_process(ctx):
    deploy_tree(
        make_tree(
            "d_chain",
            [
                approval("first", "leader", "直属领导", rejectPolicy="end"),
                approval("second", "leader_up:1", "上级领导", rejectPolicy="end"),
                task("archive", "initiator", "归档"),
            ],
        )
    )
    ok = start("d_chain")
    act("hp_leader", ok, "approve")
    act("leader", ok, "approve")
    act("hp_officer", ok, "complete")
    assert status(ok) == "completed"

    rejected = start("d_chain")
    act("hp_leader", rejected, "reject", comment="不同意")
    assert status(rejected) == "rejected" and open_steps(rejected) == []  # 已拒绝, not 已办结
    steps = db.session.scalars(select(HumanTask.step).where(HumanTask.instance_id == rejected))
    assert "second" not in set(steps)  # the rejection went straight to the end


# ---------------------------------------------------------------------------------------------
# running: branches


def test_condition_branch_takes_the_matching_path(ctx):
    deploy_tree(
        make_tree(
            "d_cond",
            [
                {
                    "id": "by_amount",
                    "type": "condition",
                    "branches": [
                        {
                            "id": "big",
                            "name": "大额",
                            "condition": rules(("amount", ">", 10000)),
                            "nodes": [approval("city", "users:leader")],
                        },
                        {
                            "id": "rest",
                            "name": "其他情况",
                            "condition": None,
                            "nodes": [approval("district", "leader")],
                        },
                    ],
                },
                task("archive", "initiator"),
            ],
        )
    )
    big, small = start("d_cond", amount=20000), start("d_cond", amount=500)
    assert open_steps(big) == ["city"] and open_steps(small) == ["district"]
    act("leader", big, "approve")
    act("hp_leader", small, "approve")
    assert open_steps(big) == open_steps(small) == ["archive"]


def test_inclusive_branch_runs_every_matching_path(ctx):
    deploy_tree(
        make_tree(
            "d_incl",
            [
                {
                    "id": "incl",
                    "type": "inclusive",
                    "branches": [
                        {
                            "id": "x",
                            "name": "检查",
                            "condition": rules(("category", "==", "inspection")),
                            "nodes": [approval("x_ok", "users:xh_leader")],
                        },
                        {
                            "id": "y",
                            "name": "大额",
                            "condition": rules(("amount", ">=", 1000)),
                            "nodes": [approval("y_ok", "users:leader")],
                        },
                        {"id": "z", "name": "其他情况", "condition": None, "nodes": [task("z_do", "initiator")]},
                    ],
                },
                task("archive", "initiator"),
            ],
        )
    )
    both = start("d_incl", category="inspection", amount=5000)
    assert open_steps(both) == ["x_ok", "y_ok"]
    act("xh_leader", both, "approve")
    assert open_steps(both) == ["y_ok"]  # the join waits for the other path
    act("leader", both, "approve")
    assert open_steps(both) == ["archive"]
    neither = start("d_incl", category="other", amount=10)
    assert open_steps(neither) == ["z_do"]


def test_parallel_branches_join(ctx):
    deploy_tree(
        make_tree(
            "d_par",
            [
                {
                    "id": "par",
                    "type": "parallel",
                    "branches": [
                        {"id": "l", "name": "区里", "nodes": [approval("p_hp", "leader")]},
                        {"id": "r", "name": "市里", "nodes": [approval("p_city", "users:leader")]},
                    ],
                },
                task("archive", "initiator"),
            ],
        )
    )
    inst = start("d_par")
    assert open_steps(inst) == ["p_city", "p_hp"]
    act("leader", inst, "approve")
    assert open_steps(inst) == ["p_hp"]
    act("hp_leader", inst, "approve")
    assert open_steps(inst) == ["archive"]


def test_rejection_inside_a_parallel_branch_ends_everything(ctx):
    deploy_tree(
        make_tree(
            "d_par_rej",
            [
                {
                    "id": "par",
                    "type": "parallel",
                    "branches": [
                        {"id": "l", "name": "区里", "nodes": [approval("p_hp", "leader", rejectPolicy="end")]},
                        {"id": "r", "name": "市里", "nodes": [approval("p_city", "users:leader")]},
                    ],
                },
                task("archive", "initiator"),
            ],
        )
    )
    inst = start("d_par_rej")
    act("hp_leader", inst, "reject")
    assert status(inst) == "rejected" and open_steps(inst) == []


# ---------------------------------------------------------------------------------------------
# running: cc, delay, triggers, sub-process


def test_cc_copies_to_the_listed_users(ctx):
    deploy_tree(
        make_tree(
            "d_cc",
            [
                {"id": "copy", "type": "cc", "name": "抄送领导", "users": ["leader", "hp_leader"], "note": "请知悉"},
                task("archive", "initiator"),
            ],
        )
    )
    inst = start("d_cc")
    copied = db.session.scalars(select(CarbonCopy).where(CarbonCopy.instance_id == inst)).all()
    assert sorted(c.user_id for c in copied) == sorted([user("leader").id, user("hp_leader").id])
    assert {c.step_name for c in copied} == {"抄送领导"} and {c.note for c in copied} == {"请知悉"}
    assert open_steps(inst) == ["archive"]
    assert inst in [c.instance_id for c in db.session.scalars(queries.copied(user("leader"), queries.Filters()))]


def test_delay_waits_then_continues(ctx):
    deploy_tree(
        make_tree(
            "d_delay",
            [
                {"id": "wait", "type": "delay", "name": "等两小时", "amount": 2, "unit": "hours"},
                task("archive", "initiator"),
            ],
        )
    )
    inst = start("d_delay")
    assert open_steps(inst) == []
    instance = db.session.get(ProcessInstance, inst)
    assert instance.next_timer_at is not None
    assert timedelta(hours=1, minutes=59) < instance.next_timer_at - utcnow() <= timedelta(hours=2)
    assert timers.fire_due(now=utcnow()) == 0
    with time_machine.travel(utcnow() + timedelta(hours=2, seconds=5), tick=False):
        assert timers.fire_due(now=utcnow()) == 1
    db.session.expire_all()
    assert open_steps(inst) == ["archive"]


def test_delay_in_working_days_sets_a_deadline(ctx):
    deploy_tree(
        make_tree(
            "d_wdays",
            [{"id": "wait", "type": "delay", "amount": 3, "unit": "working_days"}, task("archive", "initiator")],
        )
    )
    inst = start("d_wdays")
    due = db.session.get(ProcessInstance, inst).next_timer_at
    assert due is not None and due - utcnow() > timedelta(days=2, hours=23)


def test_field_update_trigger_sets_data(ctx):
    deploy_tree(
        make_tree(
            "d_update",
            [
                {
                    "id": "mark",
                    "type": "trigger",
                    "mode": "update",
                    "assignments": [{"field": "state", "value": "已受理"}, {"field": "level", "value": 2}],
                },
                task("archive", "initiator"),
            ],
        )
    )
    inst = start("d_update")
    data = data_of(inst)
    assert data["state"] == "已受理" and data["level"] == 2


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.received.append(json.loads(body))
        reply = json.dumps({"accepted": True, "ticket": "T-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server(app, monkeypatch):
    # The listener is on loopback, which http.call refuses unless the network is opened on purpose.
    monkeypatch.setitem(app.config, "HTTP_CALL_ALLOWED_NETWORKS", "127.0.0.0/8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()
    thread.join(5)


def _http_tree(pid, url, on_error="fail"):
    node = {
        "id": "call",
        "type": "trigger",
        "name": "通知外部系统",
        "mode": "http",
        "url": url,
        "fields": ["subject", "amount"],
        "timeout": 3,
        "result": "hook_result",
        "onError": on_error,
    }
    return make_tree(pid, [node, task("archive", "initiator")])


def test_http_trigger_posts_fields_and_stores_the_response(ctx, hook_server):
    deploy_tree(_http_tree("d_http", hook_server))
    inst = start("d_http", subject="外部通知", amount=42)
    [sent] = _Hook.received
    assert sent["subject"] == "外部通知" and sent["amount"] == 42 and sent["_instance"]["id"] == inst
    assert data_of(inst)["hook_result"] == {"ok": True, "status": 200, "body": {"accepted": True, "ticket": "T-1"}}
    assert open_steps(inst) == ["archive"]


def test_http_trigger_failure_is_an_incident_or_recorded(ctx, hook_server):
    dead = hook_server.replace("/hook", "").rsplit(":", 1)[0] + ":9/hook"  # port 9 (discard): refused
    deploy_tree(_http_tree("d_http_fail", dead))
    failing = start("d_http_fail")
    assert status(failing) == "error"
    incident = db.session.scalar(select(Incident).where(Incident.instance_id == failing))
    assert "触发器调用" in incident.message
    deploy_tree(_http_tree("d_http_go_on", dead, on_error="continue"))
    going = start("d_http_go_on")
    assert status(going) == "running" and open_steps(going) == ["archive"]
    assert data_of(going)["hook_result"]["ok"] is False


def test_http_trigger_refuses_other_schemes(ctx):
    from app.designer.service_tasks import http_call
    from app.engine.errors import EngineError

    with pytest.raises(EngineError, match="只允许 http"):
        http_call({}, url="file:///etc/passwd")
    assert http_call({}, url="ftp://x/y", onError="continue")["ok"] is False


def test_subprocess_runs_the_called_process(ctx):
    deploy_tree(child_tree())
    deploy_tree(
        make_tree(
            "d_parent",
            [{"id": "call", "type": "subprocess", "process": "designer_child"}, task("archive", "initiator")],
        )
    )
    inst = start("d_parent")
    assert open_steps(inst) == ["child_task"]
    act("hp_officer", inst, "complete")
    assert open_steps(inst) == ["archive"]
    act("hp_officer", inst, "complete")
    assert status(inst) == "completed"


# ---------------------------------------------------------------------------------------------
# the templates, run as the people they are meant for


def test_two_level_template_runs(ctx):
    tree = templates.template_tree("two_level")
    tree["process"]["id"] = "tpl_two"
    deploy_tree(tree)
    inst = start("tpl_two")
    act("hp_leader", inst, "approve")
    act("leader", inst, "approve")
    assert status(inst) == "completed"


def test_district_city_template_takes_the_large_amount_branch(ctx):
    tree = templates.template_tree("district_city")
    tree["process"]["id"] = "tpl_dc"
    deploy_tree(tree)
    large, small = start("tpl_dc", amount=200000), start("tpl_dc", amount=3000)
    for inst in (large, small):
        act("hp_leader", inst, "approve")
        act("chief", inst, "approve")
    assert status(small) == "completed"
    assert open_steps(large) == ["approve_city"]
    act("leader", large, "approve")
    assert status(large) == "completed"


def test_dispatch_feedback_template_returns_for_rework(ctx):
    tree = templates.template_tree("dispatch_feedback")
    tree["process"]["id"] = "tpl_dispatch"
    deploy_tree(tree)
    inst = start("tpl_dispatch", login="city_officer", target_org="310101", content="请核查仓库消防通道")
    act("chief", inst, "approve")
    assert todo("xh_officer", inst) == []  # the task belongs to the Huangpu brigade
    act("hp_officer", inst, "complete", result="已核查，通道畅通")
    act("city_officer", inst, "reject", comment="请附照片")
    assert open_steps(inst) == ["handle"]  # 退回重办
    act("hp_officer", inst, "complete", result="已核查并附照片")
    act("city_officer", inst, "approve")
    assert status(inst) == "completed"
    kinds = db.session.scalars(select(InstanceEvent.kind).where(InstanceEvent.instance_id == inst)).all()
    assert "return" in kinds or "reject" in kinds


# ---------------------------------------------------------------------------------------------
# BPMN written by hand, and BPMN outside the subset


def test_hand_written_pattern_opens_and_recompiles(ctx):
    xml = bpmn_builder.linear("hand_made", [("check", "审核", {"assignee": "leader"})])
    tree = parse_bpmn(xml)
    assert [n["id"] for n in tree["nodes"]] == ["fill", "check", "archive"]
    assert tree["nodes"][1]["props"]["rejectPolicy"] == "end"  # the approved gateway → rejection end
    assert parse_bpmn(to_bpmn(tree)) == tree
    tree["start"]["form"] = ""
    for node in tree["nodes"]:
        node["props"].pop("formJsonSchemaFilename", None)
    deploy_tree(tree)
    inst = start("hand_made")
    act("hp_officer", inst, "complete")
    act("hp_leader", inst, "reject")
    assert status(inst) == "rejected"


def test_lanes_become_role_assignees():
    xml = to_bpmn(make_tree("laned", [approval("review", "role:placeholder", "大队审核")]))
    xml = xml.replace('<spiffworkflow:property name="assignee" value="role:placeholder"/>', "")
    lanes = (
        '<bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_leader" name="district_leader">'
        "<bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
    )
    xml = xml.replace('<bpmn:startEvent id="start"', lanes + '<bpmn:startEvent id="start"')
    tree = parse_bpmn(xml)
    assert tree["nodes"][0]["props"]["assignee"] == "role:district_leader"


def test_bpmn_outside_the_subset_names_the_element():
    xml = (DATA / "workflows" / "timer_short.bpmn").read_text(encoding="utf-8")
    with pytest.raises(OutsideSubset) as caught:
        parse_bpmn(xml)
    assert caught.value.element_id == "late"
    assert "元素「late」" in caught.value.message and "边界事件" in caught.value.message


@pytest.mark.parametrize(
    ("mutate", "element", "words"),
    [
        (lambda x: x.replace("approved == False", "approved == False or amount > 1"), "n1__gw", "汇合"),
        (lambda x: x.replace('state = "已审批"', "state = subject.upper()"), "upd", "固定值"),
        (lambda x: x.replace('"PT2H"', '"R3/PT1H"'), "d_hours", "延迟器"),
        (lambda x: x.replace('id="inbox.cc"', 'id="mail.send"'), "cc_1", "mail.send"),
    ],
)
def test_refusals_say_which_element(mutate, element, words):
    tree = everything_tree()
    tree["nodes"][0]["id"] = "n1"
    xml = to_bpmn(tree)
    changed = mutate(xml)
    assert changed != xml
    with pytest.raises(OutsideSubset) as caught:
        parse_bpmn(changed)
    assert caught.value.element_id == element, caught.value.message
    assert words in caught.value.message


def test_a_second_process_or_broken_xml_is_refused():
    xml = to_bpmn(make_tree("one", [task("t", "initiator")]))
    second = xml.replace("<bpmndi:BPMNDiagram", '<bpmn:process id="two" isExecutable="true"/><bpmndi:BPMNDiagram')
    with pytest.raises(OutsideSubset, match="多个流程"):
        parse_bpmn(second)
    with pytest.raises(OutsideSubset, match="不是有效的 XML"):
        parse_bpmn("<bpmn:definitions")


def test_check_is_quiet_on_a_sound_tree():
    tree = copy.deepcopy(everything_tree())
    assert check(tree) == []
    assert compile_tree(tree).owners["Flow_a_leader__a_leader__gw"] == "a_leader"
