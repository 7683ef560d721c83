"""Engine benchmark: start + complete 5 user tasks per instance, with database persistence.

    .venv/bin/python bench/engine.py [--instances 200] [--database-url URL --reset] [--users 2000]

Two ways through the same process (bench/process.py, 5 user tasks with lanes, forms and a timer):

- service: `app.inbox.actions.start` / `complete` and one commit per act, as the routes do them
  (the acting user already loaded, as a request's `current_user` is);
- HTTP: the same acts as POSTs through Flask's test client (session cookie, permission checks,
  form validation, the redirect), one logged-in client per person.

For each act it records SQL statements (SQLAlchemy `before_cursor_execute`), commits, CPU time of
this process and, on PostgreSQL, of the database backends (/proc), and wall time; it prints them per
act and per instance next to DESIGN.md §4's targets. Bounded: --instances per mode and --max-seconds.
Without --database-url it runs on a temporary SQLite file, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.common import DbCpu, Sample, SqlMeter, describe_url, make_app, measure, prepare_database

TARGET_STATEMENTS = 8
TARGET_COMMITS = 1
TARGET_HTTP_CPU_MS = 35.0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Ducha engine benchmark (instances per second, SQL and CPU per act).")
    p.add_argument("--instances", type=int, default=200, help="measured instances per mode (default 200)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured instances first (caches, JIT-free warm-up)")
    p.add_argument("--users", type=int, default=2000, help="accounts in the organisation tree (R7.1: 2,000)")
    p.add_argument("--database-url", default=None, help="a scratch database (default: temporary SQLite file)")
    p.add_argument("--reset", action="store_true", help="empty the database first (scratch databases only)")
    p.add_argument("--instance-dir", default=None, help="instance directory (default: a temporary one)")
    p.add_argument("--mode", choices=("both", "service", "http"), default="both")
    p.add_argument("--max-seconds", type=float, default=180.0, help="stop a mode early after this long")
    p.add_argument("--show-sql", action="store_true", help="print the statements of one task completion")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args(argv)


@dataclass
class Cast:
    """The people who act on one instance, by step (ids; loaded fresh per act)."""

    initiator: int
    by_step: dict[str, int]
    logins: dict[int, str] = field(default_factory=dict)


def setup(users: int, seed: int) -> Cast:
    """Reference data, the accounts, the benchmark process; commit. Returns who acts on which step."""
    from app.auth.services import make_password_hash
    from app.demo.reference import seed_orgs, seed_roles
    from app.extensions import db
    from bench import process
    from bench.common import DEMO_PASSWORD, bump_sequences
    from bench.people import seed_people

    rng = random.Random(seed)
    seed_roles()
    orgs = seed_orgs()
    from app.models_base import utcnow

    people = seed_people(rng, orgs, users, make_password_hash(DEMO_PASSWORD), utcnow(), 3)
    from app.auth.models import User
    from app.security.models import PasswordHistory

    bump_sequences(User.__table__, PasswordHistory.__table__)
    process.deploy()
    db.session.commit()
    district = orgs["310101"].district_code
    officer = next(u for u in people.by_role["district_officer"] if u["org_code"] == "310101")
    leader = people.pick(rng, "district_leader", district)
    chief = people.pick(rng, "section_chief")
    handler = next(
        (u for u in people.by_role_district[("district_officer", district)] if u["id"] != officer["id"]), officer
    )
    by_step = {"register": officer, "review": leader, "judge": chief, "handle": handler, "close": leader}
    return Cast(
        initiator=officer["id"],
        by_step={k: v["id"] for k, v in by_step.items()},
        logins={v["id"]: v["login"] for v in by_step.values()},
    )


def open_task_id(instance_id: int) -> int | None:
    from app.extensions import db
    from app.inbox.models import HumanTask

    tid = db.session.scalar(
        select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.status == "open").limit(1)
    )
    db.session.commit()  # end the read transaction (SQLite: a reader would block the next writer)
    return tid


def _lookup(app, fn, *args):
    """Run a look-up in its own short app context: a test-client request must not find one pushed
    already (Flask would reuse it, and with it `g` and the database session of another request)."""
    from app.extensions import db

    with app.app_context():
        try:
            return fn(*args)
        finally:
            db.session.remove()


def load_user(user_id: int):
    """The acting user as a request has it: loaded, with roles and organisation."""
    from app.auth.models import User
    from app.extensions import db

    user = db.session.get(User, user_id)
    _ = user.roles, user.org, user.role_codes
    return user


@dataclass
class ModeResult:
    name: str
    instances: int = 0
    start: Sample = field(default_factory=Sample)
    complete: Sample = field(default_factory=Sample)
    completions: int = 0
    wall: float = 0.0
    errors: list[str] = field(default_factory=list)


def run_service(cast: Cast, n: int, warmup: int, meter: SqlMeter, dbcpu: DbCpu, max_seconds: float, show_sql: bool):
    from app.extensions import db
    from app.inbox import actions
    from app.inbox.models import HumanTask
    from bench import process

    result = ModeResult("service")
    began = time.perf_counter()
    for i in range(warmup + n):
        measured = i >= warmup
        scratch = Sample()
        initiator = load_user(cast.initiator)
        with measure(meter, dbcpu, result.start if measured else scratch):
            instance = actions.start(process.PROCESS_ID, actor=initiator)
            db.session.commit()
        instance_id = instance.id
        for step, _name, _lane, _kind, _form in process.STEPS:
            task_id = open_task_id(instance_id)
            actor = load_user(cast.by_step[step])
            post = process.POSTS[step]
            if show_sql and measured and step == "review":
                meter.log = []
            with measure(meter, dbcpu, result.complete if measured else scratch):
                row = db.session.get(HumanTask, task_id)
                actions.complete(
                    row,
                    actor,
                    action=post["action"],
                    form_data=process.FORM_DATA.get(step),
                    comment=post.get("comment"),
                )
                db.session.commit()
            if meter.log is not None:
                _print_sql("one task completion (service level, step 'review', approve)", meter)
                show_sql = False
            result.completions += measured
        db.session.expunge_all()
        result.instances += measured
        if time.perf_counter() - began > max_seconds:
            result.errors.append(f"stopped after {max_seconds:.0f} s")
            break
    result.wall = time.perf_counter() - began
    return result


def _login(app, login: str):
    from bench.common import DEMO_PASSWORD

    client = app.test_client()
    resp = client.post("/login", data={"login": login, "password": DEMO_PASSWORD})
    if resp.status_code != 302 or "/login" in resp.headers.get("Location", "/login"):
        raise SystemExit(f"login of {login} failed: {resp.status_code} {resp.headers.get('Location')}")
    return client


def _print_sql(title: str, meter: SqlMeter) -> None:
    print(f"\nSQL of {title}:")
    for k, stmt in enumerate(meter.log or [], 1):
        print(f"  {k:2d}. {stmt}")
    meter.log = None


def run_http(
    app, cast: Cast, n: int, warmup: int, meter: SqlMeter, dbcpu: DbCpu, max_seconds: float, show_sql: bool = False
):
    from bench import process

    result = ModeResult("HTTP")
    clients = {uid: _login(app, login) for uid, login in cast.logins.items()}
    initiator = clients[cast.initiator]
    began = time.perf_counter()
    for i in range(warmup + n):
        measured = i >= warmup
        scratch = Sample()
        trace = show_sql and measured and result.instances == 0
        if trace:
            meter.log = []
        with measure(meter, dbcpu, result.start if measured else scratch):
            resp = initiator.post(f"/inbox/start/{process.PROCESS_ID}")
        if trace:
            _print_sql("HTTP: POST /inbox/start (start an instance)", meter)
        location = resp.headers.get("Location", "")
        if resp.status_code != 302 or "/inbox/tasks/" not in location:
            result.errors.append(f"start: {resp.status_code} {location}")
            break
        _drop_flashes(initiator)
        task_id = int(location.rstrip("/").rsplit("/", 1)[1])
        instance_id = _lookup(app, _instance_of, task_id)
        for step, _name, _lane, _kind, _form in process.STEPS:
            if step != "register":
                task_id = _lookup(app, open_task_id, instance_id)
            client = clients[cast.by_step[step]]
            if trace and step == "review":
                meter.log = []
            with measure(meter, dbcpu, result.complete if measured else scratch):
                resp = client.post(f"/inbox/tasks/{task_id}/act", data=process.POSTS[step])
            if trace and step == "review":
                _print_sql("HTTP: POST /inbox/tasks/<id>/act (step 'review', approve)", meter)
            if resp.status_code != 302:
                result.errors.append(f"{step}: {resp.status_code}")
                break
            _drop_flashes(client)
            result.completions += measured
        result.instances += measured
        if result.errors or time.perf_counter() - began > max_seconds:
            if not result.errors:
                result.errors.append(f"stopped after {max_seconds:.0f} s")
            break
    result.wall = time.perf_counter() - began
    return result


def _drop_flashes(client) -> None:
    """What the browser's next page does: show (and so remove) the flash messages. Without it they pile
    up in the signed session cookie, and every later request pays for signing an ever longer cookie."""
    with client.session_transaction() as session:
        session.pop("_flashes", None)


def _instance_of(task_id: int) -> int:
    from app.extensions import db
    from app.inbox.models import HumanTask

    instance_id = db.session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
    db.session.commit()
    return instance_id


def _row(label: str, per: str, sample: Sample, count: int) -> str:
    count = max(count, 1)
    app_ms = sample.cpu * 1000 / count
    db_ms = sample.db_cpu * 1000 / count
    return (
        f"{label:<34}{per:<10}{sample.statements / count:>9.1f}{sample.commits / count:>9.2f}"
        f"{app_ms:>11.1f}{db_ms:>10.1f}{app_ms + db_ms:>10.1f}{sample.wall * 1000 / count:>10.1f}"
    )


def report(results: list[ModeResult], header: str) -> dict:
    figures: dict[str, float] = {}
    print("\n" + header)
    columns = ("SQL stmts", 9), ("commits", 9), ("app CPU ms", 11), ("DB CPU ms", 10), ("CPU ms", 10), ("wall ms", 10)
    print(f"{'':<34}{'per':<10}" + "".join(f"{name:>{width}}" for name, width in columns))
    for r in results:
        if not r.instances:
            print(f"{r.name}: no instance measured ({'; '.join(r.errors)})")
            continue
        whole = Sample()
        whole += r.start
        whole += r.complete
        unit = "request" if r.name == "HTTP" else "act"
        print(_row(f"{r.name}: start", unit, r.start, r.instances))
        print(_row(f"{r.name}: task completion", unit, r.complete, r.completions))
        print(_row(f"{r.name}: whole instance (1+5)", "instance", whole, r.instances))
        key = r.name.lower()
        figures[f"{key}_instances_per_s"] = r.instances / whole.wall if whole.wall else 0.0
        figures[f"{key}_statements_per_completion"] = r.complete.statements / max(r.completions, 1)
        figures[f"{key}_commits_per_completion"] = r.complete.commits / max(r.completions, 1)
        figures[f"{key}_cpu_ms_per_instance"] = (whole.cpu + whole.db_cpu) * 1000 / r.instances
        if r.errors:
            print(f"  {r.name}: {'; '.join(r.errors)}")
    print()
    for r in results:
        key = r.name.lower()
        if f"{key}_instances_per_s" in figures:
            print(
                f"{r.name}: {figures[f'{key}_instances_per_s']:.1f} instances/s (one thread, acts only), "
                f"{figures[f'{key}_statements_per_completion']:.1f} statements and "
                f"{figures[f'{key}_commits_per_completion']:.2f} commits per task completion, "
                f"{figures[f'{key}_cpu_ms_per_instance']:.1f} ms CPU per instance"
            )
    print(
        f"targets (DESIGN.md §4): <= {TARGET_STATEMENTS} statements and {TARGET_COMMITS} commit per task completion; "
        f"~{TARGET_HTTP_CPU_MS:.0f} ms CPU (app + database) per 5-task instance through HTTP"
    )
    return figures


def main(argv=None) -> dict:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ducha-bench-") as scratch:  # the SQLite file, audit checkpoint
        return _run(args, args.instance_dir or scratch)


def _run(args: argparse.Namespace, instance_dir: str) -> dict:
    app = make_app(args.database_url, instance_dir)
    from app.extensions import db

    with app.app_context():
        prepare_database(reset=args.reset)
        t0 = time.perf_counter()
        cast = setup(args.users, args.seed)
        setup_s = time.perf_counter() - t0
        meter = SqlMeter(db.engine)
        dbcpu = DbCpu(db.engine)
        results = []
        if args.mode in ("both", "service"):
            results.append(
                run_service(cast, args.instances, args.warmup, meter, dbcpu, args.max_seconds, args.show_sql)
            )
        db.session.remove()
    if args.mode in ("both", "http"):
        # Outside any app context: each test-client request pushes its own (see _lookup).
        results.append(run_http(app, cast, args.instances, args.warmup, meter, dbcpu, args.max_seconds, args.show_sql))
    meter.close()
    header = (
        f"Ducha engine benchmark: process bench_clue (5 user tasks), {args.instances} instances per mode "
        f"(+{args.warmup} warm-up), {describe_url(args.database_url)}, {args.users} accounts "
        f"(setup {setup_s:.1f} s), pid {os.getpid()}"
    )
    figures = report(results, header)
    with app.app_context():
        db.engine.dispose()
    return figures


if __name__ == "__main__":
    main()
