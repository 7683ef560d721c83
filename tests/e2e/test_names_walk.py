"""Names, not codes: a real browser walks the pages of the demo (menu, lists, the first details of each
list, print pages) as each kind of user and fails on any role code, process id, step id or login shown
as text where a name belongs, on code-like words (``snake_case``, ``a.b``) and on English words outside a
short allow-list. Text inside <code>/<kbd>/.font-monospace (identifiers an administrator manages) and
form values are not read. The findings are written to test-output/e2e/names-walk.txt."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

from lxml import etree
from sqlalchemy import select

from app.auth.models import Role, User
from app.demo.seed import DEMO_PASSWORD, seed_demo
from app.engine.models import ProcessModel
from app.extensions import db
from tests.conftest import TEST_PASSWORD

# (login, password): the test accounts of tests/conftest.py keep their password; the others are demo ones.
WALKERS = [
    ("admin", TEST_PASSWORD),
    ("secadmin", TEST_PASSWORD),
    ("auditor", TEST_PASSWORD),
    ("procadmin", TEST_PASSWORD),
    ("leader", TEST_PASSWORD),
    ("zhzx_chief", DEMO_PASSWORD),
    ("city_officer1", DEMO_PASSWORD),
    ("d01_leader", DEMO_PASSWORD),
    ("d01_officer", DEMO_PASSWORD),
    ("soe_js", DEMO_PASSWORD),
]
MAX_PAGES = 24
# /api-docs is Swagger UI: a developer's tool whose own interface (GET, POST, Schemas, path parameters) is
# the vendor's English by design; the API's summaries and descriptions in it are Chinese (tests/test_api.py).
SKIP_LINK = re.compile(r"(export|download|logout|/api/|/api-docs|\.pdf|\.xlsx|\.csv|/files/|/bpmn$|\.json|/static/|#)")
ALLOWED_ENGLISH = {
    "PDF",
    "CSV",
    "XLSX",
    "Excel",
    "ID",
    "IP",
    "TOTP",
    "BPMN",
    "DMN",
    "JSON",
    "API",
    "OpenAPI",
    "URL",
    "HTTP",
    "HTTPS",
    "SM",
    "HMAC",
    "GCM",
    "UTC",
    "QR",
    "Ctrl",
    "Enter",
    "Esc",
    "PNG",
    "Word",
    "CPU",
    "SQL",
    "Python",
}

ALLOWED_ENGLISH |= {"XML", "BPMNDI", "Office", "App", "Microsoft", "Authenticator", "FreeOTP"}  # formats, products
ALLOWED_ENGLISH |= {"GeoJSON", "KML"}  # map layer file formats (指挥调度 layer import)
FILE_NAME = re.compile(r".+\.(bpmn|dmn|json|pdf|xlsx|csv|png|jpg|docx?)$")
TOKEN = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]|(?<![A-Za-z0-9_])[A-Za-z]")

TEXTS_JS = """() => {
  const skip = 'script,style,code,kbd,pre,samp,.font-monospace,[data-code],template,noscript,.bio-properties-panel';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, p = n.parentElement;
    if (!p || p.closest(skip) || !p.getClientRects().length) continue;
    const t = n.textContent.replace(/\\s+/g, ' ').trim();
    if (t) out.push(t);
  }
  document.querySelectorAll('select').forEach((s) => {
    if (s.getClientRects().length && !s.closest(skip)) [...s.options].forEach((o) => out.push(o.textContent.trim()));
  });
  return out;
}"""
LINKS_JS = """() => [...document.querySelectorAll('nav a[href^="/"], main a[href^="/"], .dropdown-menu a[href^="/"]')]
  .filter((a) => !a.closest('form') && !a.hasAttribute('download')).map((a) => a.getAttribute('href'))"""


def _codes() -> dict[str, str]:
    codes = {code: "角色代码" for code in db.session.scalars(select(Role.code))}
    codes.update({login: "登录名" for login in db.session.scalars(select(User.login))})
    for model in db.session.scalars(select(ProcessModel)):
        codes[model.process_id] = "流程编号"
        if model.current_version is not None:
            root = etree.fromstring(model.current_version.bpmn.encode())
            for el in root.iter():
                if isinstance(el.tag, str) and el.get("id") and el.get("name") and "Flow" not in el.tag:
                    codes.setdefault(el.get("id"), "步骤编号")
    return {c: kind for c, kind in codes.items() if len(c) > 2}


def findings_in(texts: list[str], codes: dict[str, str]) -> list[str]:
    found = []
    for text in texts:
        for token in TOKEN.findall(text):
            if FILE_NAME.match(token):
                continue
            if token in codes:
                found.append(f"{codes[token]} {token}：{text[:80]}")
            elif "_" in token or re.fullmatch(r"[a-z]+(\.[a-z_]+)+", token):
                found.append(f"代码 {token}：{text[:80]}")
            elif re.fullmatch(r"[A-Za-z]{2,}", token) and token not in ALLOWED_ENGLISH:
                found.append(f"英文 {token}：{text[:80]}")
    return found


def test_findings_detect_codes_and_english():
    codes = {"district_leader": "角色代码", "clue_verification": "流程编号"}
    assert findings_in(["办理人：district_leader"], codes) and findings_in(["Approve"], codes)
    assert findings_in(["user.create"], codes) and findings_in(["node_yw2cmj4"], codes)
    assert findings_in(["导出 PDF、Excel；编号 XS202612010001，代码 91310101LWKYERGXFP，文件 a_b.bpmn"], codes) == []


def _walk(page, codes, start=("/", "/inbox/"), max_pages=MAX_PAGES) -> tuple[list[str], list[str]]:
    seen, visited, problems = set(), [], []
    queue = deque(start)
    while queue and len(visited) < max_pages:
        href = queue.popleft()
        key = re.sub(r"\d+", "N", urlsplit(href).path)
        if key in seen or SKIP_LINK.search(href):
            continue
        seen.add(key)
        resp = page.goto(href)
        if resp is not None and resp.status >= 500:
            problems.append(f"{href}  HTTP {resp.status}")
        if resp is None or resp.status >= 400 or "text/html" not in (resp.headers.get("content-type") or ""):
            continue
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)
        visited.append(href)
        problems += [f"{href}  {p}" for p in findings_in(page.evaluate(TEXTS_JS), codes)]
        queue.extend(page.evaluate(LINKS_JS))
    return visited, problems


def test_every_page_shows_names_not_codes(app, browser, live_server, output_dir):
    with app.app_context():
        seed_demo()
        db.session.commit()
        codes = _codes()
    report, all_problems, pages = [], [], 0
    for login, password in WALKERS:
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1400, "height": 900})
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto("/login")
        page.fill("#login", login)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        visited, problems = _walk(page, codes)
        context.close()
        pages += len(visited)
        report.append(f"== {login}: {len(visited)} 页")
        report += sorted(set(problems))
        all_problems += [f"{login} {p}" for p in sorted(set(problems))]
    (output_dir / "names-walk.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    assert pages > 60, report
    assert all_problems == [], f"{len(all_problems)} findings (test-output/e2e/names-walk.txt):\n" + "\n".join(
        all_problems[:80]
    )


# The enterprise supervision pages (一企一档, grades, labels, triggers, check once), walked from their own
# entry points so that the first details of each list are read whatever the menu walk above reached.
SUPERVISION = (
    "/enterprises/",
    "/grading/",
    "/grading/models",
    "/labels/",
    "/labels/library",
    "/triggers/",
    "/triggers/rules",
    "/checks/",
)


def test_supervision_pages_show_names_not_codes(app, browser, live_server, output_dir):
    from app.triggers.models import TriggerHit

    with app.app_context():
        seed_demo()
        db.session.commit()
        codes = _codes()
        hit = db.session.scalars(select(TriggerHit).order_by(TriggerHit.id)).first()
        assert hit is not None, "the demo has trigger hits"
        details = (f"/triggers/hits/{hit.id}", f"/enterprises/{hit.enterprise_id}")
    start = details + SUPERVISION
    report, all_problems, pages = [], [], 0
    for login, password in [("procadmin", TEST_PASSWORD), ("leader", TEST_PASSWORD), ("d01_officer", DEMO_PASSWORD)]:
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1400, "height": 900})
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto("/login")
        page.fill("#login", login)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        visited, problems = _walk(page, codes, start=start, max_pages=16)
        context.close()
        pages += len(visited)
        report.append(f"== {login}: {len(visited)} 页")
        report += visited + sorted(set(problems))
        all_problems += [f"{login} {p}" for p in sorted(set(problems))]
    (output_dir / "names-walk-supervision.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    assert pages >= 30 and any(p.startswith("/triggers/hits/") for p in report), report
    assert all_problems == [], "\n".join(all_problems[:80])
