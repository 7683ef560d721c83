"""The main jobs in a real browser, each person in their own browser context, with a screenshot of
every page: a clue from registration to the signed report, and an account application approved by the
district and the city corps."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.enterprises.credit_code import check_char
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox.models import HumanTask
from app.orgs.models import Organisation


@pytest.fixture
def deployed(app):
    from app.engine import deploy

    with app.app_context():
        for name in ("clue_verification", "account_opening"):
            deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / f"{name}.bpmn"))
        street = db.session.scalar(
            select(Organisation).where(Organisation.district_code == "310101", Organisation.kind == "street").limit(1)
        )
        body = "91310101MA0000042"
        db.session.add(
            Enterprise(
                credit_code=body + check_char(body),
                name="上海浦江危化品仓储有限公司",
                org_id=street.id,
                district_code="310101",
                address="上海市黄浦区中山南路 88 号",
                legal_person="李明",
                grade="A",
            )
        )
        db.session.commit()
        return body + check_char(body)


def open_task(app, step: str) -> int:
    with app.app_context():
        [row] = db.session.scalars(select(HumanTask).where(HumanTask.status == "open", HumanTask.step == step))
        return row.id


def do_task(page, app, step: str, shots: Path, *, fields=None, selects=None, button="complete", comment=None):
    task_id = open_task(app, step)
    page.goto(f"/inbox/tasks/{task_id}")
    for name, value in (selects or {}).items():  # a select, or radio buttons, whichever the form uses
        if page.locator(f"select#f-{name}").count():
            page.select_option(f"#f-{name}", value)
        else:
            page.check(f"input[name={name}][value={value}]")
    for name, value in (fields or {}).items():
        page.fill(f"#f-{name}", value)
    if comment:
        page.fill("#comment", comment)
    page.screenshot(path=str(shots / f"clue-{step}.png"), full_page=True)
    page.click(f"button[name=action][value={button}]")
    page.wait_for_url("**/inbox/")
    assert page.locator(".alert-success").count() == 1


def test_clue_from_registration_to_signed_report(app, deployed, browser_page, output_dir, console_errors):
    officer = browser_page("hp_officer")
    officer.goto("/clues/new")
    officer.select_option("#f-source", "hotline")
    officer.fill("#f-enterprise", deployed)
    officer.fill("#f-content", "12350 热线反映该企业仓库夜间违规装卸危险化学品，现场无人监护。")
    officer.fill("#f-reporter_name", "王小明")
    officer.fill("#f-reporter_phone", "13812345678")
    officer.screenshot(path=str(output_dir / "clue-register.png"), full_page=True)
    officer.click("#clue-form button[type=submit]")
    officer.wait_for_url("**/clues/*")
    assert "138****5678" in officer.content()  # the reporter's phone is masked on the clue page

    do_task(browser_page("hp_leader"), app, "accept", output_dir, button="approve", comment="同意受理")
    city = browser_page("city_officer")
    do_task(
        city,
        app,
        "judge",
        output_dir,
        selects={"verifiable": "yes", "risk_level": "high"},
        fields={"judge_opinion": "内容具体，具备核查条件"},
    )
    do_task(city, app, "dispatch", output_dir, fields={"handle_org": "310101", "dispatch_note": "请三个工作日内核查"})
    do_task(
        officer,
        app,
        "handle",
        output_dir,
        fields={
            "investigators": "张伟、刘芳",
            "investigated_on": "2026-11-20",
            "findings": "现场核查发现 2 号仓库超量储存乙醇约 3 吨，装卸区未设警戒。",
            "measures": "责令立即停止违规装卸，限期转移超量物料。",
        },
    )
    do_task(
        browser_page("hp_leader"),
        app,
        "feedback",
        output_dir,
        selects={"verdict": "substantiated"},
        fields={"conclusion": "反映问题属实，已责令整改并立案查处。"},
    )
    chief = browser_page("chief")
    do_task(chief, app, "review", output_dir, button="approve", comment="同意调查结论")
    chief.goto("/clues/")
    chief.screenshot(path=str(output_dir / "clue-list-closed.png"), full_page=True)
    assert "已办结" in chief.locator("main").inner_text()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_account_application_approved_by_district_and_city(app, deployed, browser_page, output_dir):
    street = browser_page("hp_street")
    street.goto("/accounts-apply/new")
    street.select_option("#f-org", index=1)
    street.fill("#f-name", "赵安全")
    street.fill("#f-login", "s_zhaoanquan")
    street.fill("#f-phone", "13900002222")
    street.check("input[name=roles][value=street_officer]")
    street.fill("#f-reason", "街道新增安全监管专员，需要办理检查任务")
    street.screenshot(path=str(output_dir / "account-apply.png"), full_page=True)
    street.click("main button[type=submit]")
    street.wait_for_url("**/accounts-apply/*")
    for login, step in (("hp_leader", "district_review"), ("leader", "city_review")):
        page = browser_page(login)
        page.goto(f"/inbox/tasks/{open_task(app, step)}")
        page.fill("#comment", "同意开通")
        page.screenshot(path=str(output_dir / f"account-{step}.png"), full_page=True)
        page.click("button[name=action][value=approve]")
        page.wait_for_url("**/inbox/")
    with app.app_context():
        from app.auth.models import User

        created = db.session.scalar(select(User).where(User.login == "s_zhaoanquan"))
        assert created is not None and created.must_change_password
