"""Server time of the clue acts that used to render documents in the request (issue #15).

    .venv/bin/python bench/acts.py [--database-url URL] [--clues 20]

Runs the real clue-verification process (workflows/clue_verification.bpmn) on a database with the demo
data (`flask ducha seed-demo` and `ducha deploy` are run first when the database is empty), through
Flask's test client as the demo people: 登记 → 受理 → 研判 提交 → 派发 → 处理 → 反馈 → 通过并签发. It
prints p50 / p95 / max of the server time of each act. 研判 (the investigation order), 反馈 (the
investigation report) and 通过并签发 (the signed original) queue their documents for the job worker
(`app/reports/worker.py`) in the same transaction; no document is rendered inside these requests.
Without --database-url it runs on a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.common import DEMO_PASSWORD, ensure_database, make_app

ACTS = ("登记", "受理", "研判 提交", "派发", "处理", "反馈", "通过并签发")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=None)
    p.add_argument("--instance-dir", default=None)
    p.add_argument("--clues", type=int, default=20, help="clues run through the whole process (default 20)")
    return p.parse_args(argv)


def prepare(app) -> None:
    from app.auth.models import User
    from app.extensions import db

    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        has_demo = db.session.scalar(select(User.id).where(User.login == "city_officer1"))
    if not has_demo:
        runner = app.test_cli_runner()
        for command in (["ducha", "seed-demo"], ["ducha", "deploy"]):
            result = runner.invoke(args=command)
            if result.exit_code != 0:
                raise SystemExit(f"{' '.join(command)} failed: {result.output[-2000:]}")


class People:
    """One logged-in test client per demo login."""

    def __init__(self, app):
        self.app, self.clients = app, {}

    def __call__(self, login: str):
        if login not in self.clients:
            c = self.app.test_client()
            r = c.post("/login", data={"login": login, "password": DEMO_PASSWORD})
            if r.status_code not in (302, 303) or "/login" in r.headers.get("Location", ""):
                raise SystemExit(f"login {login} failed: {r.status_code}")
            self.clients[login] = c
        return self.clients[login]


def open_task(app, instance_id: int, step: str) -> int:
    from app.extensions import db
    from app.inbox.models import HumanTask

    with app.app_context():
        found = db.session.scalar(
            select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.step == step, HumanTask.status == "open"
            )
        )
        db.session.remove()
    if found is None:
        raise SystemExit(f"no open {step} task on instance {instance_id}")
    return found


def timed(times: dict, name: str, call):
    t0 = time.perf_counter()
    resp = call()
    times.setdefault(name, []).append(time.perf_counter() - t0)
    if resp.status_code != 302:
        text = re.sub(r"\s+", " ", resp.get_data(as_text=True))[:400]
        raise SystemExit(f"{name}: HTTP {resp.status_code}: {text}")
    return resp


def one_clue(app, people: People, enterprise: str, times: dict) -> None:
    from app.clues.models import Clue
    from app.extensions import db

    def act(login, step, action, **data):
        task = open_task(app, inst, step)
        return lambda: people(login).post(f"/inbox/tasks/{task}/act", data={"action": action, **data})

    resp = timed(
        times,
        "登记",
        lambda: people("city_officer1").post(
            "/clues/new",
            data={
                "source": "report",
                "enterprise": enterprise,
                "content": f"群众举报该企业仓库夜间违规装卸危险化学品，消防通道堵塞（{time.time_ns()}）。",
                "reporter_name": "张三丰",
                "reporter_phone": "13812345678",
                "confirm_duplicate": "1",
            },
            content_type="multipart/form-data",
        ),
    )
    clue_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        inst = db.session.get(Clue, clue_id).instance_id
        db.session.remove()
    timed(times, "受理", act("d01_leader", "accept", "approve", comment="同意受理"))
    timed(
        times,
        "研判 提交",
        act(
            "city_officer1",
            "judge",
            "complete",
            verifiable="yes",
            risk_level="high",
            judge_opinion="反映内容具体，具备核查条件",
        ),
    )
    timed(times, "派发", act("city_officer1", "dispatch", "complete", handle_org="310101", dispatch_note="请核查"))
    timed(
        times,
        "处理",
        act(
            "d01_officer",
            "handle",
            "complete",
            investigators="张伟、刘芳",
            investigated_on="2026-11-20",
            findings="经现场核查，仓库超量储存乙醇约 3.2 吨，夜间装卸未设警戒。",
            hazards="超量储存；装卸无警戒",
            measures="责令停止违规装卸，限期转移超量物料，依法立案调查。",
        ),
    )
    timed(
        times,
        "反馈",
        act("d01_leader", "feedback", "complete", verdict="substantiated", conclusion="线索反映问题属实，已责令整改。"),
    )
    timed(times, "通过并签发", act("zhzx_chief", "review", "approve", comment="同意调查结论"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main(argv=None) -> int:
    args = parse_args(argv)
    import tempfile

    instance_dir = args.instance_dir or tempfile.mkdtemp(prefix="ducha-acts-")
    ensure_database(args.database_url)
    app = make_app(args.database_url, instance_dir, WTF_CSRF_ENABLED=False)
    prepare(app)
    from app.enterprises.models import Enterprise
    from app.extensions import db

    with app.app_context():
        enterprise = db.session.scalar(
            select(Enterprise.credit_code).where(Enterprise.district_code == "310101").order_by(Enterprise.id).limit(1)
        )
        db.session.remove()
    people = People(app)
    times: dict[str, list[float]] = {}
    one_clue(app, people, enterprise, {})  # warm-up: caches, first connections
    for _ in range(args.clues):
        one_clue(app, people, enterprise, times)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    print(f"clue acts, server time through the test client ({args.clues} clues, {url})")
    print("| act | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for name in ACTS:
        v = [x * 1000 for x in times.get(name, [])]
        if v:
            print(f"| {name} | {statistics.median(v):.0f} | {pct(v, 95):.0f} | {max(v):.0f} |")
    from app.reports.models import Job

    with app.app_context():
        queued = db.session.scalar(select(db.func.count(Job.id)).where(Job.status == "queued"))
    print(f"documents queued for the job worker (not rendered in the requests): {queued}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
