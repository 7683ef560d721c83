"""The peer benchmark pass (../shared/peer-bench) against Ducha served as in production, on PostgreSQL.

    .venv/bin/python bench/peer.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/ducha_perf_peer]
        [--clients 1,4] [--duration 40] [--timer 5] [--statements] [--reset]

1. migrates the database (created when missing), loads the demo accounts once and deploys the peer's two
   processes (arena_five_tasks, arena_timer_probe) next to the project's own;
2. with --statements: serves the app once with `log_statement = 'all'` for this database only and counts,
   from the PostgreSQL server log, the statements of one start, one ready list and one submit (pool
   pre-pings, BEGIN, COMMIT and ROLLBACK included: everything the server executed for the call);
3. serves the app (`python -m app.serve`: gunicorn 2 x 4 + scheduler + job worker) on a free port and runs
   `bench.py` once per client count with `--cpu-pids` (the app's process tree) and `--cpu-pg-db`, then the
   timer probe (PT5S), and prints one table.

`server_cpu_s_per_instance` (CPU seconds of the app's processes and of this database's PostgreSQL backends
per completed five-task instance) is the figure to compare: wall-clock times drift on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEMO_PASSWORD, ROOT
from bench.load import free_port, stop_server, wait_ready

PEER = ROOT.parent / "shared" / "peer-bench"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ducha_perf_peer"
PG_LOG = Path("/var/log/postgresql/postgresql-15-main.log")
USERS = "city_officer1,city_officer2,city_officer3,city_officer4"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_PEER_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--clients", default="1,4", help="comma list of client counts (default 1,4)")
    p.add_argument("--duration", type=float, default=40.0, help="seconds per pass (default 40)")
    p.add_argument("--timer", type=int, default=5, help="timer probes (0: skip)")
    p.add_argument("--statements", action="store_true", help="also count SQL statements per call (PG log)")
    p.add_argument("--pg-log", default=str(PG_LOG), help="the PostgreSQL server log (for --statements)")
    p.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    p.add_argument("--keep", help="directory for the JSON of each pass and the server logs")
    return p.parse_args(argv)


def _pg(url: str):
    import psycopg

    u = urllib.parse.urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    admin = psycopg.connect(url.replace(u.path, "/postgres").replace("+psycopg", ""), autocommit=True)
    return u.path.lstrip("/"), admin


def prepare(args, env: dict) -> str:
    name, admin = _pg(args.database_url)
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and args.reset:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "ducha", "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    peer_env = {**env, "DUCHA_WORKFLOWS_DIR": str(PEER / "workflows"), "DUCHA_FORMS_DIR": str(PEER / "forms")}
    subprocess.run([*flask, "ducha", "deploy"], cwd=ROOT, env=peer_env, check=True, capture_output=True)
    return name


def serve(env: dict, port: int, log: Path) -> subprocess.Popen:
    out = open(log, "w", encoding="utf-8")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.serve"], cwd=ROOT, env={**env, "PORT": str(port)}, stdout=out, stderr=out
    )
    try:
        wait_ready(port, proc, timeout=300)  # a busy machine takes a while to import the app three times
    except BaseException:
        stop_server(proc)
        raise
    return proc


def bench(port: int, *extra: str) -> dict:
    cmd = [sys.executable, str(PEER / "bench.py"), "--adapter", "ducha", "--base-url", f"http://127.0.0.1:{port}"]
    cmd += ["--password", DEMO_PASSWORD, *extra]
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


# ---------------------------------------------------------------- statements per call (server log)

STATEMENT = re.compile(r"\[(\d+)\] (?:\S+@\S+ )?LOG:  (?:statement|execute [^:]*): (.*)")


def count_statements(args, env: dict, name: str, keep: Path) -> dict:
    """Serve with log_statement=all for this database only; bracket one instance's calls with markers."""
    import importlib.util

    import psycopg

    spec = importlib.util.spec_from_file_location("peer_bench", PEER / "bench.py")
    peer = importlib.util.module_from_spec(spec)  # the driver's own adapter: the calls are the benchmark's
    spec.loader.exec_module(peer)

    _, admin = _pg(args.database_url)
    with admin:
        admin.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
    port = free_port()
    proc = serve(env, port, keep / "app-statements.log")
    plain = args.database_url.replace("+psycopg", "")
    marks: list[tuple[str, int]] = []
    try:
        with psycopg.connect(plain, autocommit=True) as mark:
            mark_pid = mark.execute("SELECT pg_backend_pid()").fetchone()[0]
            ns = argparse.Namespace(user="city_officer1", password=DEMO_PASSWORD)
            client = peer.DuchaAdapter(f"http://127.0.0.1:{port}", ns)
            client.login()
            offset = Path(args.pg_log).stat().st_size
            for rnd in range(3):  # the first round warms the pools and caches; the last is counted
                calls = []
                mark.execute(f"SELECT 'perf-mark-start-{rnd}'")
                inst = client.start("five_tasks")
                calls.append("start")
                mark.execute(f"SELECT 'perf-mark-{rnd}-start'")
                for step in range(5):
                    tasks = client.ready_tasks(inst)
                    mark.execute(f"SELECT 'perf-mark-{rnd}-list{step}'")
                    client.submit(tasks[0], {"note": f"n{step}"})
                    mark.execute(f"SELECT 'perf-mark-{rnd}-submit{step}'")
                    calls += [f"list{step}", f"submit{step}"]
                time.sleep(0.2)
            marks.append(("pid", mark_pid))
            # Only the web workers' statements (app.serve names its processes' connections with PGAPPNAME):
            # the job worker and the scheduler run at the same time and are not part of a call.
            web = {
                row[0]
                for row in mark.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name LIKE %s",
                    (name, "%-web"),
                )
            }
    finally:
        stop_server(proc)
        with _pg(args.database_url)[1] as admin:
            admin.execute(f'ALTER DATABASE "{name}" RESET log_statement')
    with open(args.pg_log, encoding="utf-8", errors="replace") as fh:
        fh.seek(offset)
        lines = fh.read().splitlines()
    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    current = None
    for line in lines:
        m = STATEMENT.search(line)
        if not m:
            continue
        pid, sql = int(m.group(1)), m.group(2)
        if pid == mark_pid:
            label = re.search(r"perf-mark-(?:start-)?(\d+)-?(\w*)", sql)
            if "perf-mark-start-2" in sql:
                current = "start"
            elif label and label.group(1) == "2" and "perf-mark-start" not in sql:
                tag = label.group(2)
                current = {"start": "list0"}.get(tag)
                if current is None and tag.startswith("list"):
                    current = "submit" + tag[4:]
                elif current is None and tag.startswith("submit"):
                    n = int(tag[6:]) + 1
                    current = f"list{n}" if n < 5 else None
            else:
                current = None
            continue
        if current is not None and (not web or pid in web):
            counts[current] = counts.get(current, 0) + 1
            samples.setdefault(current, []).append(sql[:140])
    (keep / "statements.json").write_text(json.dumps(samples, ensure_ascii=False, indent=1), encoding="utf-8")
    submits = [counts.get(f"submit{i}", 0) for i in range(5)]
    lists = [counts.get(f"list{i}", 0) for i in range(5)]
    return {
        "start": counts.get("start", 0),
        "list": lists,
        "submit": submits,
        "per_instance": counts.get("start", 0) + sum(submits) + sum(lists),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    keep = Path(args.keep or tempfile.mkdtemp(prefix="ducha-peer-"))
    keep.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": args.database_url,
            "DUCHA_INSTANCE_DIR": str(keep / "instance"),
            "DUCHA_LOGIN_RATE_LIMIT": "1000000 per minute",
            "PYTHONUNBUFFERED": "1",
        }
    )
    name = prepare(args, env)
    statements = count_statements(args, env, name, keep) if args.statements else None
    port = free_port()
    proc = serve(env, port, keep / "app.log")
    results = []
    try:
        for clients in [int(c) for c in args.clients.split(",") if c.strip()]:
            users = ",".join(USERS.split(",")[:clients])
            out = bench(
                port,
                "--user", users, "--duration", str(args.duration), "--clients", str(clients),
                "--cpu-pids", str(proc.pid), "--cpu-pg-db", name,
            )  # fmt: skip
            (keep / f"flow-{clients}.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
            results.append((clients, out))
        timer = bench(port, "--user", "city_officer1", "--timer", str(args.timer)) if args.timer else None
    finally:
        stop_server(proc)
    print(f"peer-bench pass on {name} (JSON and logs in {keep})")
    # CPU ref: bench.py's fixed pure-Python loop on this machine, ms (lower = faster). The same machine
    # type was measured between 78 and 360 ms in one day (a shared host): compare figures taken at like refs.
    print(
        "| clients | instances/s | submit p50 / p95 ms | start p95 ms | CPU-s per instance (app + PG) | errors "
        "| CPU ref ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for clients, out in results:
        print(_row(clients, out))
    if timer is not None:
        print(
            f"timer PT5S x {args.timer}: fired {timer.get('fired')}, late p50 {timer.get('late_s_p50')} s, "
            f"max {timer.get('late_s_max')} s, errors {timer.get('errors')}"
        )
    if statements is not None:
        print(
            "SQL statements per call (server log, web workers only, pre-pings and transaction control included): "
            f"start {statements['start']}, ready list {statements['list']}, submit {statements['submit']}, "
            f"{statements['per_instance']} per instance"
        )
    return 0


def _row(clients: int, out: dict) -> str:
    def get(*path, default="?"):
        value = out
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return default
            value = value[key]
        return value

    submit = get("submit_ms") if isinstance(get("submit_ms"), dict) else {}
    start = get("start_ms") if isinstance(get("start_ms"), dict) else {}
    cpu = get("procs_cpu", "server_cpu_s_per_instance")
    app, pg = get("procs_cpu", "app_cpu_s_per_instance"), get("procs_cpu", "pg_cpu_s_per_instance")
    return (
        f"| {clients} | {get('instances_per_s')} | {submit.get('p50', '?')} / {submit.get('p95', '?')} | "
        f"{start.get('p95', '?')} | {cpu} (app {app} + PG {pg}) | {get('errors')} | {get('client_cpu_ref_ms')} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
