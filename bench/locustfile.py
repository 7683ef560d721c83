"""Locust scenario for bench/load.py: people logged in polling their inbox, and people acting at once.

Not meant to be run by hand without bench/load.py, which starts the app on a generated database and
writes the plan this file reads (BENCH_PLAN: the accounts, credit codes, keywords, optional URLs).

- Poller (600 by default): logs in, then GET /inbox/badge every ~30 s, as an open page does.
- Actor (70 by default): logs in, then in a loop with a few seconds' think time: open the inbox,
  open a task and complete it, register a clue (the clue process when the app has its registration
  page, else the benchmark process), an exact query by credit code, a keyword search, a statistics
  page and a monthly report when the app has them, and now and then log out and in again.

Logins are named "login (arrival)" for each person's first login during the ramp-up and "login" for
logging out and in again later. Besides Locust's own statistics, the response times after every
person has arrived (the steady state) are written to BENCH_EXTRA for bench/load.py.

A 409 on completing a task ("already handled": two people of one role took the same task) is the
app's correct answer to a race, so it counts as a success; bench/load.py reports how many there were.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

from locust import FastHttpUser, between, events, task

PLAN = json.loads(Path(os.environ["BENCH_PLAN"]).read_text(encoding="utf-8")) if os.environ.get("BENCH_PLAN") else {}
PASSWORD = PLAN.get("password", "Ducha@2026")
POLLERS = list(PLAN.get("pollers", []))
ACTORS = list(PLAN.get("actors", []))
CODES = PLAN.get("credit_codes", ["91310101MA1FPX1234"])
KEYWORDS = PLAN.get("keywords", ["华申"])
STATS_URL = PLAN.get("stats_url")
REPORT_URL = PLAN.get("report_url")
CLUE_REGISTER_URL = PLAN.get("clue_register_url")
CLUE_SEARCH_URL = PLAN.get("clue_search_url")
PROCESS = PLAN.get("process", "bench_clue")
POSTS = PLAN.get("posts", {})
EXTRA = {"conflicts": 0, "gone": 0, "no_task": 0, "logins": 0}

# What an actor does, as relative weights per operation (BENCH_MIX; docs/performance.md says why).
# realistic: an officer's day of ~110 operations: 30 inbox views, 40 task opens+completions, 5 clue
#   registrations, 5+10+10+5 searches and exact queries, 3 statistics pages, 1 monthly report, 2 logins.
# stress: the original mix, every operation alike: a monthly report and a new login every 19 operations.
MIXES = {
    "realistic": {
        "inbox": 30, "work": 40, "register": 5, "clue_search": 5, "exact": 10, "keyword": 10,
        "inbox_search": 5, "stats": 3, "report": 1, "relogin": 2,
    },
    "stress": {
        "inbox": 3, "work": 5, "register": 2, "clue_search": 1, "exact": 2, "keyword": 2,
        "inbox_search": 1, "stats": 1, "report": 1, "relogin": 1,
    },
}  # fmt: skip
MIX = MIXES[os.environ.get("BENCH_MIX", "realistic")]

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TASK_LINK = re.compile(r'href="/inbox/tasks/(\d+)"')
ACTION = re.compile(r'name="action" value="(approve|complete)"')


class Person(FastHttpUser):
    abstract = True
    pool: list[dict] = []

    def on_start(self):
        self.me = self.pool.pop() if self.pool else None
        self.csrf = None
        if self.me is None:
            raise RuntimeError("more simulated users than generated accounts in the plan")
        self.login(name="login (arrival)")

    def login(self, name: str = "login") -> bool:
        page = self.client.get("/login", name="login (form)")
        match = CSRF_INPUT.search(page.text or "")
        with self.client.post(
            "/login",
            data={"login": self.me["login"], "password": PASSWORD, "csrf_token": match.group(1) if match else ""},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            location = resp.headers.get("Location", "") if resp.headers else ""
            if resp.status_code != 302 or "/login" in location or "/account/" in location:
                resp.failure(f"login of {self.me['login']}: {resp.status_code} -> {location}")
                return False
        EXTRA["logins"] += 1
        self.csrf = None
        return True

    def token(self) -> str:
        if not self.csrf:
            page = self.client.get("/", name="home")
            match = CSRF_META.search(page.text or "")
            self.csrf = match.group(1) if match else ""
        return self.csrf


class Poller(Person):
    """An open browser tab: the inbox badge refreshes about every 30 seconds."""

    fixed_count = int(os.environ.get("BENCH_POLLERS", "600"))
    wait_time = between(25, 35)
    pool = POLLERS

    @task
    def badge(self):
        self.client.get("/inbox/badge", name="badge (poll)")


class Actor(Person):
    """Someone working: inbox, tasks, registration, queries."""

    fixed_count = int(os.environ.get("BENCH_ACTORS", "70"))
    wait_time = between(float(os.environ.get("BENCH_THINK_MIN", "2")), float(os.environ.get("BENCH_THINK_MAX", "6")))
    pool = ACTORS

    def on_start(self):
        super().on_start()
        self.tasks_seen: list[str] = []

    @task(MIX["inbox"])
    def open_inbox(self):
        page = self.client.get("/inbox/", name="inbox (open)")
        self.tasks_seen = TASK_LINK.findall(page.text or "")

    @task(MIX["work"])
    def work_a_task(self):
        if not self.tasks_seen:
            self.open_inbox()
        if not self.tasks_seen:
            EXTRA["no_task"] += 1
            return
        task_id = self.tasks_seen.pop(random.randrange(len(self.tasks_seen)))
        with self.client.get(f"/inbox/tasks/{task_id}", name="task (open)", catch_response=True) as page:
            if page.status_code == 404:  # finished by someone else since the list was drawn
                page.success()
                EXTRA["gone"] += 1
                return
            text = page.text or ""
        action = ACTION.search(text)
        if not action:
            return  # visible but not this person's to act on (e.g. another step of a group)
        data = self.form_for(text, action.group(1))
        data["csrf_token"] = self.token()
        with self.client.post(
            f"/inbox/tasks/{task_id}/act", data=data, name="task (complete)", allow_redirects=False, catch_response=True
        ) as resp:
            if resp.status_code == 409 or resp.status_code == 404:
                resp.success()
                EXTRA["conflicts" if resp.status_code == 409 else "gone"] += 1
            elif resp.status_code != 302:
                resp.failure(f"act: {resp.status_code}")

    def form_for(self, page: str, action: str) -> dict:
        for step in ("register", "handle"):
            post = POSTS.get(step) or {}
            fields = [k for k in post if k not in ("action", "comment")]
            if fields and all(f'name="{k}"' in page for k in fields):
                return dict(post)
        return {"action": action, "comment": "同意"}

    @task(MIX["register"])
    def register_clue(self):
        if CLUE_REGISTER_URL:
            self.register_on_clue_page()
            return
        if not self.me.get("can_start"):
            return
        with self.client.post(
            f"/inbox/start/{PROCESS}",
            data={"csrf_token": self.token()},
            name="clue (start process)",
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            location = resp.headers.get("Location", "") if resp.headers else ""
            if resp.status_code != 302 or "/inbox/tasks/" not in location:
                resp.failure(f"start: {resp.status_code} -> {location}")
                return
        task_id = location.rstrip("/").rsplit("/", 1)[1]
        data = dict(POSTS.get("register") or {"action": "complete"})
        data["credit_code"] = random.choice(CODES)
        data["csrf_token"] = self.token()
        with self.client.post(
            f"/inbox/tasks/{task_id}/act",
            data=data,
            name="clue (register form)",
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            if resp.status_code != 302:
                resp.failure(f"register form: {resp.status_code}")

    def register_on_clue_page(self):
        """The clue registration page: it creates the clue and starts the clue verification process."""
        if not self.me.get("can_register"):
            return
        data = {
            "source": random.choice(("report", "hotline", "transfer")),
            "enterprise": random.choice(CODES),
            "content": f"群众反映该企业存在违规动火作业、安全出口堵塞等问题（{random.randrange(10**6)}）",
            "confirm_duplicate": "1",
            "csrf_token": self.token(),
        }
        with self.client.post(
            CLUE_REGISTER_URL, data=data, name="clue (register)", allow_redirects=False, catch_response=True
        ) as resp:
            location = resp.headers.get("Location", "") if resp.headers else ""
            if resp.status_code != 302 or "/clues/" not in location:
                resp.failure(f"register: {resp.status_code} -> {location}")

    @task(MIX["clue_search"])
    def clue_search(self):
        if CLUE_SEARCH_URL:
            self.client.get(f"{CLUE_SEARCH_URL}?q={random.choice(KEYWORDS)}", name="search (clues)")

    @task(MIX["exact"])
    def exact_query(self):
        self.client.get(f"/inbox/pick/enterprise?q={random.choice(CODES)}", name="exact query (credit code)")

    @task(MIX["keyword"])
    def keyword_search(self):
        self.client.get(f"/inbox/pick/enterprise?q={random.choice(KEYWORDS)}", name="search (enterprise name)")

    @task(MIX["inbox_search"])
    def inbox_search(self):
        self.client.get(f"/inbox/?tab=done&q={random.choice(KEYWORDS)}", name="search (done tasks)")

    @task(MIX["stats"])
    def statistics(self):
        if STATS_URL:
            self.client.get(STATS_URL, name="statistics")

    @task(MIX["report"])
    def monthly_report(self):
        """Start the monthly report (a background PDF job) and poll it to the end: the time is the whole wait."""
        if not REPORT_URL:
            return
        started = time.monotonic()
        with self.client.post(
            REPORT_URL,
            data={"csrf_token": self.token(), "month": ""},
            name="monthly report (start)",
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            if resp.status_code == 403:  # a role without statistics: not an error, nothing to measure
                resp.success()
                return
            job = (resp.headers.get("Location") or "").rsplit("job=", 1)[-1]
        if not job.isdigit():
            return
        status = "queued"
        while status in ("queued", "running") and time.monotonic() - started < 60:
            time.sleep(0.5)
            reply = self.client.get(
                f"/jobs/{job}", name="monthly report (poll)", headers={"Accept": "application/json"}
            )
            status = reply.json().get("status", "failed") if reply.status_code == 200 else "failed"
        events.request.fire(
            request_type="JOB",
            name="monthly report",
            response_time=(time.monotonic() - started) * 1000,
            response_length=0,
            exception=None if status == "done" else RuntimeError(status),
            context={},
        )

    @task(MIX["relogin"])
    def relogin(self):
        self.client.post("/logout", data={"csrf_token": self.token()}, name="logout", allow_redirects=False)
        self.login()


# Response times after every simulated person has arrived (logged in): the steady state, apart from
# the ramp-up, when hundreds of logins (PBKDF2, ~0.1 s of CPU each) compete for the two cores.
STEADY: dict[str, list] = {}
PHASE = {"steady": False}


@events.spawning_complete.add_listener
def _all_arrived(user_count, **_kwargs):
    PHASE["steady"] = True


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **_kwargs):
    if PHASE["steady"] and name != "login (arrival)":  # the last arrivals log in as the ramp-up ends
        STEADY.setdefault(name, []).append((response_time, exception is not None))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@events.test_stop.add_listener
def _write_extra(environment, **_kwargs):
    path = os.environ.get("BENCH_EXTRA")
    if not path:
        return
    steady = {}
    for name, samples in STEADY.items():
        times = [t for t, _failed in samples]
        steady[name] = {
            "count": len(samples),
            "errors": sum(1 for _t, failed in samples if failed),
            "p50": _percentile(times, 0.50),
            "p95": _percentile(times, 0.95),
            "p99": _percentile(times, 0.99),
        }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({**EXTRA, "steady": steady}, fh)
