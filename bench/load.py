"""Load test (R7.3): the app served as in production, driven by Locust for a bounded time.

    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_full \\
        [--instance-dir DIR] [--duration 180] [--pollers 600] [--actors 70] [--spawn-rate 10]

The database must hold a generated data set (bench/generate.py; 600 pollers + 70 actors need
about 700 business accounts, i.e. --scale 0.35 or more). This script:

1. starts `python -m app.serve` (gunicorn, 2 workers x 4 threads, plus the one scheduler process)
   on 127.0.0.1 and a free port, against that database;
2. writes a plan for bench/locustfile.py (which accounts poll, which act, credit codes, keywords);
3. runs Locust headless for --duration seconds (loopback only) while sampling the app processes'
   memory (RSS) and CPU;
4. stops everything it started and prints, per operation, requests, errors, median, p95 and p99
   next to the R7.3 limit, and the peak RSS.

Settings that differ from a production start, and why: DUCHA_ENV stays "development" (production
makes the session cookie Secure-only, and this benchmark speaks plain HTTP on loopback), and
DUCHA_LOGIN_RATE_LIMIT is raised because every simulated person comes from 127.0.0.1 (the per-address
throttle would otherwise refuse the 21st login in 5 minutes).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEMO_PASSWORD, ROOT, describe_url, make_app

DEFAULT_INSTANCE_DIR = ROOT / "instance" / "bench"
LIMITS = {"login": 5.0, "crud": 5.0, "exact": 3.0, "search": 8.0, "stats": 15.0}
TOTP_ROLES = {"sys_admin", "sec_admin", "audit_admin", "process_admin"}  # need a second factor at login
ACTOR_MIX = {"district_officer": 0.55, "district_leader": 0.30, "section_chief": 0.15}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Ducha load test (gunicorn + scheduler + Locust, bounded in time).")
    p.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), required=not os.environ.get("DATABASE_URL")
    )
    p.add_argument("--instance-dir", default=str(DEFAULT_INSTANCE_DIR), help="the generator's instance directory")
    p.add_argument("--duration", type=int, default=180, help="seconds of load (default 180)")
    p.add_argument("--pollers", type=int, default=600)
    p.add_argument("--actors", type=int, default=70)
    p.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    p.add_argument("--workers", type=int, default=2, help="gunicorn web workers (app.serve runs 4 threads each)")
    p.add_argument("--think", default="2,6", help="actor think time between operations, min,max seconds")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", default=None, help="directory for the Locust CSV files and the server log")
    p.add_argument(
        "--mix",
        choices=("realistic", "stress"),
        default="realistic",
        help="actor operation mix (bench/locustfile.py MIXES; stress: a monthly report and a login every 19 acts)",
    )
    p.add_argument("--timer-every", type=float, default=10.0, help="start a PT5S timer probe every N s (0: none)")
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def category(name: str) -> str:
    if name.startswith("login"):
        return "login"
    if name.startswith("exact"):
        return "exact"
    if name.startswith("search"):
        return "search"
    if name.startswith(("statistics", "monthly report")):
        return "stats"
    return "crud"


# ---------------------------------------------------------------------------------------------
# the plan: who does what


def optional_urls(app) -> dict[str, str | None]:
    """Pages the app may or may not have yet: statistics, a monthly report, clue search and registration."""
    rules = {r.rule for r in app.url_map.iter_rules() if not r.arguments}
    stats = sorted(r for r in rules if r.endswith("stats.json") or r.endswith("/statistics.json"))
    stats = stats or sorted(r for r in rules if "/stats" in r or "/statistics" in r)
    report = sorted(r for r in rules if "monthly" in r and "report" in r)
    return {
        "stats_url": stats[0] if stats else None,
        "report_url": report[0] if report else None,
        "clue_search_url": "/clues/" if "/clues/" in rules else None,
        "clue_register_url": "/clues/new" if "/clues/new" in rules else None,
    }


def deploy_processes(app) -> list[str]:
    """What `make run` does before serving: deploy workflows/ (the clue process among them)."""
    from app.engine.deploy import deploy_directory
    from app.extensions import db

    with app.app_context():
        try:
            results = deploy_directory()
            db.session.commit()
        except Exception as exc:  # a process file in the middle of being edited: say so, go on without it
            db.session.rollback()
            print(f"note: deploying workflows/ failed ({type(exc).__name__}: {exc}); the benchmark process is used")
            return []
        return [pid for pid, _version, _new in results]


def make_plan(app, pollers: int, actors: int, seed: int, deployed: list[str]) -> dict:
    from sqlalchemy import func, select

    from app.auth.models import Role, User, user_roles
    from app.enterprises.models import Enterprise
    from app.extensions import db
    from app.inbox.models import HumanTask
    from bench import process

    rng = random.Random(seed)
    with app.app_context():
        rows = db.session.execute(
            select(User.login, Role.code, Role.permissions)
            .join(user_roles, user_roles.c.user_id == User.id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(User.status == "active")
            .order_by(User.id)
        ).all()
        open_tasks = db.session.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == "open")) or 0
        codes = list(db.session.scalars(select(Enterprise.credit_code).order_by(func.random()).limit(500)))
        names = list(db.session.scalars(select(Enterprise.name).order_by(func.random()).limit(300)))
        urls = optional_urls(app)
    people = {}
    for login, role, permissions in rows:
        if role in TOTP_ROLES:
            continue
        people.setdefault(
            login,
            {
                "login": login,
                "role": role,
                "can_start": "process.start" in (permissions or []),
                "can_register": "clue.register" in (permissions or []),
            },
        )
    by_role: dict[str, list[dict]] = {}
    for person in people.values():
        by_role.setdefault(person["role"], []).append(person)
    chosen: list[dict] = []
    wanted = {role: max(1, int(actors * share)) for role, share in ACTOR_MIX.items()}
    wanted[next(iter(ACTOR_MIX))] += actors - sum(wanted.values())  # rounding: the rest are officers
    for role, count in wanted.items():
        pool = by_role.get(role, [])
        rng.shuffle(pool)
        chosen += pool[:count]
    chosen = chosen[:actors]
    taken = {p["login"] for p in chosen}
    rest = [p for p in people.values() if p["login"] not in taken]
    rng.shuffle(rest)
    keywords = sorted({n[2:4] for n in names if len(n) > 4})
    if "clue_verification" not in deployed:
        urls["clue_register_url"] = None  # registration starts the clue process: not deployed, not possible
    return {
        "password": DEMO_PASSWORD,
        "actors": chosen,
        "pollers": rest[:pollers],
        "credit_codes": codes,
        "keywords": keywords,
        "process": process.PROCESS_ID,
        "posts": process.POSTS,
        "open_tasks": open_tasks,
        **urls,
    }


# ---------------------------------------------------------------------------------------------
# processes


class Sampler(threading.Thread):
    """Samples RSS and CPU of the app's process tree (and PostgreSQL's) once a second."""

    def __init__(self, root_pid: int):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(root_pid)
        self.peak_total = 0
        self.peak: dict[int, tuple[str, int]] = {}
        self.cpu: dict[int, tuple[str, float]] = {}  # CPU seconds since the first sample
        self.cpu_start: dict[int, float] = {}
        self.stop_event = threading.Event()
        self.pg_first: dict[int, float] = {}
        self.pg_last: dict[int, float] = {}
        self._pg_sample()

    def _label(self, proc) -> str:
        try:
            cmd = " ".join(proc.cmdline())
            parent = proc.ppid()
        except self.psutil.Error:
            return "?"
        if "scheduler" in cmd:
            return "scheduler"
        if "ducha worker" in cmd:
            return "job worker"
        if "gunicorn" in cmd:
            return "gunicorn master" if parent == self.root.pid else "gunicorn worker"
        return "app.serve"

    def _tree(self):
        try:
            return [self.root, *self.root.children(recursive=True)]
        except self.psutil.Error:
            return []

    def _pg_sample(self) -> None:
        """CPU of every PostgreSQL process, per pid: backends come and go, so deltas are kept per pid."""
        for proc in self.psutil.process_iter(["name", "cpu_times"]):
            times = proc.info["cpu_times"]
            if proc.info["name"] and proc.info["name"].startswith("postgres") and times:
                seconds = times.user + times.system
                first = self.pg_first.setdefault(proc.pid, seconds)
                self.pg_last[proc.pid] = seconds - first

    @property
    def pg_cpu(self) -> float:
        return sum(self.pg_last.values())

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(1.0)

    def sample(self) -> None:
        total = 0
        for proc in self._tree():
            try:
                rss = proc.memory_info().rss
                cpu = proc.cpu_times()
            except self.psutil.Error:
                continue
            label = self._label(proc)
            total += rss
            if rss > self.peak.get(proc.pid, ("", 0))[1]:
                self.peak[proc.pid] = (label, rss)
            self.cpu_start.setdefault(proc.pid, cpu.user + cpu.system)
            self.cpu[proc.pid] = (label, cpu.user + cpu.system - self.cpu_start[proc.pid])
        self.peak_total = max(self.peak_total, total)
        self._pg_sample()

    def stop(self) -> None:
        self.sample()
        self.stop_event.set()


def start_server(args, port: int, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        {
            "PORT": str(port),
            "DATABASE_URL": args.database_url,
            "DUCHA_INSTANCE_DIR": str(Path(args.instance_dir).resolve()),
            "DUCHA_WEB_WORKERS": str(args.workers),
            "DUCHA_LOGIN_RATE_LIMIT": "1000000 per minute",
            "DUCHA_ENV": "development",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-m", "app.serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with {proc.returncode} before it was ready (see the server log)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the app did not answer /healthz within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to app.serve (it stops gunicorn and the scheduler); its own children by id if it lingers."""
    if proc.poll() is None:
        import psutil

        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            children = []
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for child in children:
            try:
                child.wait(timeout=10)
            except psutil.TimeoutExpired:
                child.kill()
            except psutil.Error:
                pass


def run_locust(args, host: str, plan_path: Path, out: Path, users: int) -> tuple[float, float]:
    """Run Locust headless; returns (wall seconds, Locust's CPU seconds)."""
    think_min, think_max = (s.strip() for s in args.think.split(","))
    env = dict(os.environ)
    env.update(
        {
            "BENCH_PLAN": str(plan_path),
            "BENCH_EXTRA": str(out / "extra.json"),
            "BENCH_POLLERS": str(args.pollers),
            "BENCH_ACTORS": str(args.actors),
            "BENCH_MIX": args.mix,
            "BENCH_THINK_MIN": think_min,
            "BENCH_THINK_MAX": think_max,
        }
    )
    cmd = [
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.duration}s",
        "--stop-timeout",
        "10",
        "--host",
        host,
        "--csv",
        str(out / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(out / "locust.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    try:
        proc.wait(timeout=args.duration + 90)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # Locust is the only child reaped so far
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.monotonic() - started, cpu


# ---------------------------------------------------------------------------------------------
# report


def read_stats(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row.get("Name") and row["Name"] != "Aggregated"]


def ms(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _table(title: str, rows: list[tuple[str, int, int, float, float, float]], *, steady: bool) -> bool:
    """Print (name, requests, errors, p50, p95, p99) rows against the R7.3 limits; True if all meet the target.

    Steady state: p95 under a tenth of the limit and p99 under half of it; whole run: p95 under the limit.
    """
    print(f"\n{title}")
    head = f"{'operation':<28}{'requests':>9}{'errors':>7}{'median':>9}{'p95':>9}{'p99':>9}{'limit':>8}"
    head += f"{'p95/p99 target':>17}  ok" if steady else f"{'p95 target':>11}  ok"
    print(head)
    print("-" * len(head))
    all_ok = True
    order = ["login", "crud", "exact", "search", "stats"]
    for name, count, errors, p50, p95, p99 in sorted(rows, key=lambda r: (order.index(category(r[0])), r[0])):
        limit = LIMITS[category(name)]
        if steady:
            ok = errors == 0 and p95 <= limit * 100 and p99 <= limit * 500  # ms: a tenth and a half
            target = f"{limit * 100:>9.0f}/{limit * 500:.0f}ms"
        else:
            ok = errors == 0 and p95 <= limit * 1000
            target = f"{limit * 1000:>9.0f}ms"
        all_ok &= ok
        print(
            f"{name:<28}{count:>9}{errors:>7}{p50:>7.0f}ms{p95:>7.0f}ms{p99:>7.0f}ms{limit:>7.0f}s"
            f"{target:>11}  {'yes' if ok else 'NO'}"
        )
    return all_ok


class TimerProbe(threading.Thread):
    """Starts a PT5S timer instance (the peer-bench's arena_timer_probe) every few seconds during the run;
    afterwards, how late each timer fired is read from its `timer` history event."""

    def __init__(self, app, every: float):
        super().__init__(daemon=True)
        self.app, self.every = app, every
        self.started: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        from sqlalchemy import select

        from app.auth.models import User
        from app.extensions import db
        from app.inbox import actions

        with self.app.app_context():
            # the first active account that may start a process (the probe has no start roles)
            users = db.session.scalars(select(User).where(User.status == "active").order_by(User.id).limit(500))
            actor_id = next((u.id for u in users if u.can("process.start")), None)
            n = 0
            while not self.stop_event.wait(self.every):
                n += 1
                try:
                    actor = db.session.get(User, actor_id)  # fresh each time: the session is removed below
                    inst = actions.start("arena_timer_probe", actor=actor, data={"probe": f"load-probe-{n}"})
                    db.session.commit()
                    self.started.append(inst.id)
                except Exception as exc:  # report, do not stop the load test
                    db.session.rollback()
                    print(f"note: timer probe {n} could not start: {type(exc).__name__}: {exc}")
                finally:
                    db.session.remove()

    def lags(self) -> tuple[list[float], int]:
        """Seconds late per fired probe, and how many never fired."""
        from datetime import timedelta

        from sqlalchemy import select

        from app.engine.models import InstanceEvent, ProcessInstance
        from app.extensions import db

        with self.app.app_context():
            rows = db.session.execute(
                select(ProcessInstance.started_at, InstanceEvent.at)
                .outerjoin(
                    InstanceEvent,
                    (InstanceEvent.instance_id == ProcessInstance.id) & (InstanceEvent.kind == "timer"),
                )
                .where(ProcessInstance.id.in_(self.started))
            ).all()
            db.session.remove()
        late = [(at - (started + timedelta(seconds=5))).total_seconds() for started, at in rows if at is not None]
        return sorted(late), sum(1 for _, at in rows if at is None)


def deploy_probe(app) -> None:
    """Deploy the peer-bench's PT5S timer probe into the benchmark database (idempotent)."""
    from app.engine.deploy import deploy_directory
    from app.extensions import db

    peer = ROOT.parent / "shared" / "peer-bench"
    saved = {k: app.config[k] for k in ("WORKFLOWS_DIR", "FORMS_DIR")}
    app.config.update(WORKFLOWS_DIR=str(peer / "workflows"), FORMS_DIR=str(peer / "forms"))
    try:
        with app.app_context():
            deploy_directory()
            db.session.commit()
    finally:
        app.config.update(saved)


def report(
    stats, extra: dict, sampler: Sampler, plan: dict, args, elapsed: float, locust_cpu: float, probe=None
) -> bool:
    print(
        f"\nLoad test ({args.mix} mix): {args.pollers} pollers (GET /inbox/badge every ~30 s) + {args.actors} actors "
        f"(think {args.think} s), {args.duration} s, spawn {args.spawn_rate}/s, "
        f"gunicorn {args.workers} workers x 4 threads "
        f"+ scheduler, {describe_url(args.database_url)}; {plan['open_tasks']:,} open tasks at start"
    )
    whole = [
        (
            r["Name"],
            int(r["Request Count"]),
            int(r.get("Failure Count") or 0),
            ms(r.get("50%")),
            ms(r.get("95%")),
            ms(r.get("99%")),
        )
        for r in stats
    ]
    whole_ok = _table("whole run, ramp-up included (Locust's percentiles):", whole, steady=False)
    steady = [(n, v["count"], v["errors"], v["p50"], v["p95"], v["p99"]) for n, v in extra.get("steady", {}).items()]
    title = "steady state: after every simulated person has logged in:"
    steady_ok = _table(title, steady, steady=True) if steady else False
    for label, url in (("statistics", plan.get("stats_url")), ("monthly report", plan.get("report_url"))):
        if not url:
            print(f"{label}: skipped, the app has no such page yet")
    print(
        f"pages: statistics = {plan.get('stats_url') or '-'}, monthly report = {plan.get('report_url') or '-'}, "
        f"clue registration = {plan.get('clue_register_url') or 'POST /inbox/start/' + plan['process']}, "
        f"clue search = {plan.get('clue_search_url') or '-'}"
    )
    total = sum(r[1] for r in whole)
    print(
        f"\n{total:,} requests in {elapsed:.0f} s; task completions answered 409 'already handled' (a lost race, "
        f"counted as success): {extra.get('conflicts', 0)}; tasks gone before opened/acted: {extra.get('gone', 0)}; "
        f"actor iterations with an empty inbox: {extra.get('no_task', 0)}; logins: {extra.get('logins', 0)}"
    )
    print("peak RSS of the app processes:")
    for _pid, (label, rss) in sorted(sampler.peak.items(), key=lambda kv: kv[1][0]):
        print(f"  {label:<18}{rss / 2**20:>8.0f} MiB")
    print(f"  {'all together':<18}{sampler.peak_total / 2**20:>8.0f} MiB (peak of the sum)")
    cpu: dict[str, float] = {}
    for label, seconds in sampler.cpu.values():
        cpu[label] = cpu.get(label, 0.0) + seconds
    print(
        "CPU seconds during the run: "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(cpu.items()))
        + f", PostgreSQL {sampler.pg_cpu:.0f}, Locust {locust_cpu:.0f} ({os.cpu_count()} cores x {elapsed:.0f} s = "
        f"{(os.cpu_count() or 1) * elapsed:.0f} CPU-seconds available)"
    )
    web_peak = max((rss for label, rss in sampler.peak.values() if label == "gunicorn worker"), default=0)
    rss_ok = web_peak < 400 * 2**20
    timer_ok = True
    if probe is not None:
        late, missing = probe.lags()
        if late:
            p50, p99 = late[(len(late) - 1) // 2], late[min(len(late) - 1, max(0, -(-len(late) * 99 // 100) - 1))]
            timer_ok = missing == 0 and p99 <= 5.0
            print(
                f"timer lag (PT5S probes started every {args.timer_every:.0f} s during the run): {len(late)} fired, "
                f"{missing} not fired; late p50 {p50:.2f} s, p99 {p99:.2f} s, max {late[-1]:.2f} s "
                f"(target p99 <= 5 s: {'met' if timer_ok else 'NOT met'})"
            )
        else:
            timer_ok = False
            print(f"timer lag: no probe fired ({missing} started)")
    print(
        "targets: steady state p95 < limit/10 and p99 < limit/2, no errors: "
        f"{'met' if steady_ok else 'NOT met'}; whole run p95 < limit: {'met' if whole_ok else 'NOT met'}; "
        f"peak RSS per web worker {web_peak / 2**20:.0f} MiB < 400 MiB: {'met' if rss_ok else 'NOT met'}"
    )
    return steady_ok and whole_ok and rss_ok and timer_ok


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.keep or (Path(args.instance_dir) / "load-run"))
    out.mkdir(parents=True, exist_ok=True)
    app = make_app(args.database_url, args.instance_dir)
    deployed = deploy_processes(app)
    probe = None
    if args.timer_every:
        deploy_probe(app)
        probe = TimerProbe(app, args.timer_every)
    plan = make_plan(app, args.pollers, args.actors, args.seed, deployed)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    if len(plan["pollers"]) < args.pollers or len(plan["actors"]) < args.actors:
        print(
            f"note: the data set has accounts for {len(plan['pollers'])} pollers and {len(plan['actors'])} actors; "
            "generate with --scale 0.35 or more for 600 + 70"
        )
        args.pollers, args.actors = len(plan["pollers"]), len(plan["actors"])
    plan_path = out / "plan.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    port = free_port()
    server = start_server(args, port, out / "server.log")
    sampler = None
    try:
        wait_ready(port, server)
        print(f"app up on http://127.0.0.1:{port} (pid {server.pid}); running Locust for {args.duration} s ...")
        sampler = Sampler(server.pid)
        sampler.start()
        if probe is not None:
            probe.start()
        elapsed, locust_cpu = run_locust(args, f"http://127.0.0.1:{port}", plan_path, out, args.pollers + args.actors)
        if probe is not None:
            probe.stop_event.set()
            probe.join(30)
            time.sleep(8)  # the last probes' timers fall due
    finally:
        if sampler is not None:
            sampler.stop()
        stop_server(server)
    extra_path = out / "extra.json"
    extra = json.loads(extra_path.read_text()) if extra_path.exists() else {}
    ok = report(read_stats(out / "locust_stats.csv"), extra, sampler, plan, args, elapsed, locust_cpu, probe)
    print(f"(Locust CSV, plan and server log in {out})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
