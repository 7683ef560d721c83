"""执法比武 under load: N candidates answer one competition at once, each autosaving every few seconds,
against the app served as in production (gunicorn through `python -m app.serve`). Prints p50/p95/p99.

    .venv/bin/python bench/training_load.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/ducha_training_bench --reset \\
        [--candidates 500] [--duration 120] [--interval 10] [--ramp 60] [--port 7201] [--workers 2]

1. migrates the scratch database (refused unless empty or --reset), loads the demo question bank
   (205 questions), the marking process, a competition open now, and N district officers;
2. starts the app on 127.0.0.1:--port (2 gunicorn workers x 4 threads, plus the scheduler and the job
   worker, exactly as `make run` does);
3. runs the candidates as gevent greenlets in a child process: log in and open the paper (spread over
   --ramp seconds), then every --interval seconds send 1-3 changed answers to the autosave endpoint until
   --duration seconds after the ramp, then submit (spread over 10 s); autosaves during the ramp are
   counted apart from the steady state, when all candidates answer at once;
4. prints, per operation, requests, errors, p50/p95/p99 (ms) and stops the server.

Settings that differ from a production start: passwords are hashed with 1,000 PBKDF2 iterations
(logging 500 people in is not what is measured), the login throttle is raised (everyone comes from
127.0.0.1) and DUCHA_ENV stays development (plain HTTP on loopback: no Secure-only cookie).
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--client-plan" in sys.argv:  # the load generator: gevent before anything
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import os
import random
import re
import subprocess
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench@Train2026"
ITERATIONS = "1000"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="执法比武 autosave load test")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--reset", action="store_true", help="empty the (scratch) database first")
    p.add_argument("--candidates", type=int, default=500)
    p.add_argument("--duration", type=int, default=120, help="seconds of steady autosave after the ramp")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between a candidate's autosaves")
    p.add_argument("--ramp", type=float, default=60.0, help="seconds over which the candidates log in")
    p.add_argument("--port", type=int, default=7201)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--cost",
        type=int,
        default=0,
        help="instead of the load: N autosaves in-process (Flask test client), CPU and SQL per request",
    )
    p.add_argument("--client-plan", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# --------------------------------------------------------------------------------------------- setup


def prepare(args) -> dict:
    from sqlalchemy import select

    from app.auth.services import create_user
    from app.demo.reference import seed_orgs, seed_roles
    from app.demo.training import _questions
    from app.engine import deploy
    from app.extensions import db
    from app.models_base import utcnow
    from app.orgs.models import Organisation
    from app.training import compete
    from bench.common import ensure_database, make_app, prepare_database

    ensure_database(args.database_url)
    app = make_app(args.database_url, tempfile.mkdtemp(prefix="ducha-training-bench-"), PASSWORD_ITERATIONS=1000)
    with app.app_context():
        prepare_database(reset=args.reset)
        seed_roles()
        orgs = seed_orgs()
        districts = sorted((o for o in orgs.values() if o.kind == "district"), key=lambda o: o.code)
        admin = create_user(
            login="bench_admin",
            name="比武管理员",
            org=orgs["SHYJ"],
            password=PASSWORD,
            roles=["city_leader"],
            must_change_password=False,
        )
        for i in range(args.candidates):
            create_user(
                login=f"cand{i:04d}",
                name=f"考生{i:04d}",
                org=districts[i % len(districts)],
                password=PASSWORD,
                roles=["district_officer"],
                must_change_password=False,
            )
        _questions(admin)
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "training_marking.bpmn"))
        now = utcnow()
        comp = compete.save_competition(
            admin,
            {
                "name": "压测执法比武",
                "count_single": "20",
                "score_single": "2",
                "count_multi": "5",
                "score_multi": "4",
                "count_judge": "10",
                "score_judge": "1",
                "count_case": "2",
                "score_case": "15",
                "time_limit_minutes": "180",
                "max_attempts": "1",
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(hours=4),
                "marker_logins": "bench_admin",
            },
        )
        db.session.commit()
        assert db.session.scalar(select(Organisation.id).limit(1))
        return {"competition": comp.id, "logins": [f"cand{i:04d}" for i in range(args.candidates)]}


def start_server(args, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORT": str(args.port),
        "DATABASE_URL": args.database_url,
        "DUCHA_INSTANCE_DIR": tempfile.mkdtemp(prefix="ducha-training-serve-"),
        "DUCHA_WEB_WORKERS": str(args.workers),
        "DUCHA_LOGIN_RATE_LIMIT": "1000000 per minute",
        "DUCHA_PASSWORD_ITERATIONS": ITERATIONS,
        "DUCHA_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen([sys.executable, "-m", "app.serve"], cwd=ROOT, env=env, stdout=log, stderr=log)


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the app did not answer /healthz in time")


# --------------------------------------------------------------------------------------------- client

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
QUESTION = re.compile(r'name="q_(\d+)" (?:value="([A-Z])"|rows)')


def _cause(exc: BaseException) -> str:
    """The innermost reason of a requests error, short (e.g. ConnectionResetError, RemoteDisconnected)."""
    while exc.__context__ is not None or exc.__cause__ is not None:
        exc = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__} {str(exc)[:80]}".strip()


def candidate(login: str, plan: dict, samples: dict, errors: dict, t0: float) -> None:
    import gevent
    import requests

    base = plan["base"]
    s = requests.Session()

    def timed(op: str, method: str, url: str, ok=(200, 302, 303), **kw):
        started = time.perf_counter()
        try:
            r = s.request(method, base + url, allow_redirects=False, timeout=60, **kw)
        except requests.RequestException as exc:  # the cause too: refused, reset, closed keep-alive, timeout
            errors.setdefault(op, []).append(f"{type(exc).__name__}: {_cause(exc)}")
            return None
        samples.setdefault(op, []).append((time.perf_counter() - started) * 1000)
        if r.status_code not in ok:
            errors.setdefault(op, []).append(str(r.status_code))
            return None
        return r

    rng = random.Random(login)
    gevent.sleep(rng.random() * plan["ramp"])
    page = timed("login page", "GET", "/login")
    if page is None:
        return
    token = CSRF_INPUT.search(page.text).group(1)
    if timed("login", "POST", "/login", data={"login": login, "password": PASSWORD, "csrf_token": token}) is None:
        return
    comp = plan["competition"]
    home = timed("competition page", "GET", f"/training/competitions/{comp}")
    if home is None:
        return
    token = CSRF_META.search(home.text).group(1)
    started = timed("start paper", "POST", f"/training/competitions/{comp}/paper", data={"csrf_token": token})
    if started is None:
        return
    paper_url = started.headers["Location"].replace(base, "")
    paper = timed("paper page", "GET", paper_url)
    if paper is None:
        return
    choices: dict[str, list[str]] = {}
    for qid, letter in QUESTION.findall(paper.text):
        choices.setdefault(qid, []).append(letter or "")
    headers = {"X-CSRFToken": token, "Accept": "application/json", "Content-Type": "application/json"}
    save_url = paper_url + "/answers"
    end = t0 + plan["ramp"] + plan["duration"]
    gevent.sleep(rng.random() * plan["interval"])
    while time.monotonic() < end:
        began = time.monotonic()
        answers = {}
        for qid in rng.sample(sorted(choices), rng.randint(1, 3)):
            letters = [c for c in choices[qid] if c]
            answers[qid] = (
                rng.choice(letters) if letters else "依据安全生产法责令限期改正并处罚款。" * rng.randint(1, 4)
            )
        op = "autosave" if began >= t0 + plan["ramp"] else "autosave (ramp)"  # steady state: all present
        timed(op, "POST", save_url, ok=(200,), data=json.dumps({"answers": answers}), headers=headers)
        gevent.sleep(max(0.0, plan["interval"] - (time.monotonic() - began)))
    gevent.sleep(rng.random() * 10)
    timed("submit", "POST", paper_url + "/submit", data={"csrf_token": token})


def run_client(plan_path: str) -> None:
    import gevent

    plan = json.loads(Path(plan_path).read_text())
    samples: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}
    t0 = time.monotonic()
    gevent.joinall([gevent.spawn(candidate, login, plan, samples, errors, t0) for login in plan["logins"]])
    Path(plan["out"]).write_text(json.dumps({"samples": samples, "errors": errors, "seconds": time.monotonic() - t0}))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else float("nan")


def report(result: dict, args) -> None:
    print(
        f"\n执法比武 load: {args.candidates} candidates, autosave every {args.interval:g} s for {args.duration} s "
        f"after a {args.ramp:g} s ramp ({result['seconds']:.0f} s in all), {args.workers} gunicorn workers x 4 threads"
    )
    print(f"{'operation':<18}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    order = ["login page", "login", "competition page", "start paper", "paper page", "autosave (ramp)", "autosave"]
    order.append("submit")
    for op in order:
        values = result["samples"].get(op, [])
        errs = result["errors"].get(op, [])
        print(
            f"{op:<18}{len(values):>9}{len(errs):>8}{pct(values, 50):>9.0f}{pct(values, 95):>9.0f}"
            f"{pct(values, 99):>9.0f}{(max(values) if values else float('nan')):>9.0f}"
        )
    for op, errs in result["errors"].items():
        if errs:
            print(f"  errors in {op}: " + ", ".join(f"{e} x{errs.count(e)}" for e in sorted(set(errs))))
    saves = result["samples"].get("autosave", [])
    if saves:
        verdict = "holds" if pct(saves, 95) < 200 else "does NOT hold"
        rate = len(saves) / args.duration
        print(f"steady autosave ({rate:.1f}/s) p95 {pct(saves, 95):.0f} ms: the target p95 < 200 ms {verdict}")


def cost(args, plan: dict) -> None:
    """What one autosave costs, measured alone: app CPU, PostgreSQL backend CPU, SQL statements, commits.
    It says what the 2-core box can carry when it is not shared (500 candidates / 10 s = 50 saves/s)."""
    from bench.common import DbCpu, Sample, SqlMeter, make_app, measure

    app = make_app(args.database_url, tempfile.mkdtemp(prefix="ducha-training-cost-"), PASSWORD_ITERATIONS=1000)
    from app.extensions import db

    with app.app_context():
        meter, dbcpu = SqlMeter(db.engine), DbCpu(db.engine)
        rng = random.Random(7)
        samples: list[Sample] = []
        clients = []
        for login in plan["logins"][:10]:
            c = app.test_client()
            c.post("/login", data={"login": login, "password": PASSWORD})
            url = c.post(f"/training/competitions/{plan['competition']}/paper").headers["Location"]
            page = c.get(url).get_data(as_text=True)
            qids = sorted({q for q, _ in QUESTION.findall(page)})
            clients.append((c, url.replace("http://localhost", "") + "/answers", qids))
        for i in range(args.cost):
            c, url, qids = clients[i % len(clients)]
            body = {"answers": {q: rng.choice("ABCD") for q in rng.sample(qids, rng.randint(1, 3))}}
            one = Sample()
            with measure(meter, dbcpu, one):
                r = c.post(url, json=body, headers={"Accept": "application/json"})
            assert r.status_code == 200, r.get_data(as_text=True)[:200]
            samples.append(one)
        backend = db.engine.url.get_backend_name()
    n = len(samples)
    app_ms = sorted(x.cpu * 1000 for x in samples)
    db_ms = sum(x.db_cpu for x in samples) * 1000 / n
    print(
        f"\nautosave cost, {n} requests in-process on {backend}: "
        f"app CPU p50 {pct(app_ms, 50):.1f} ms, p95 {pct(app_ms, 95):.1f} ms, mean {sum(app_ms) / n:.1f} ms; "
        f"database CPU mean {db_ms:.1f} ms; {sum(x.statements for x in samples) / n:.1f} SQL statements and "
        f"{sum(x.commits for x in samples) / n:.1f} commits per request; wall p50 "
        f"{pct(sorted(x.wall * 1000 for x in samples), 50):.1f} ms"
    )
    per = sum(app_ms) / n + db_ms
    print(
        f"=> {per:.1f} ms of CPU per autosave: 50 saves/s (500 candidates every 10 s) need {per * 50 / 1000:.2f} cores"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.client_plan:
        run_client(args.client_plan)
        return 0
    if not args.database_url:
        raise SystemExit("--database-url (or DATABASE_URL) is required: a scratch PostgreSQL database")
    print("preparing the database ...", flush=True)
    plan = prepare(args)
    if args.cost:
        cost(args, plan)
        return 0
    work = Path(tempfile.mkdtemp(prefix="ducha-training-load-"))
    server = start_server(args, work / "server.log")
    try:
        wait_ready(args.port, server)
        plan |= {
            "base": f"http://127.0.0.1:{args.port}",
            "ramp": args.ramp,
            "duration": args.duration,
            "interval": args.interval,
            "out": str(work / "result.json"),
        }
        (work / "plan.json").write_text(json.dumps(plan))
        print(f"server up on port {args.port}; {args.candidates} candidates start (log: {work / 'server.log'})")
        subprocess.run([sys.executable, __file__, "--client-plan", str(work / "plan.json")], check=True, cwd=ROOT)
        report(json.loads((work / "result.json").read_text()), args)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
