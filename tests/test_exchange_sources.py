"""R2.6.2 organisation/staff sync and data sets, R2.6.3 pull and push with acknowledgement, R2.6.5
enrichment with cache and sources, R7.5 quality page: each against the fake process on loopback."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.exchange.fakes.data import credit_code
from app.exchange.models import EnterpriseFact, PushBatch, PushItem
from app.extensions import db
from app.orgs.models import Organisation
from tests import exchange_support
from tests.exchange_support import make_user, pull

fake, fake_process = exchange_support.fake, exchange_support.fake_process  # the fixtures


def _org(code):
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def _user(login):
    return db.session.scalar(select(User).where(User.login == login))


def test_org_and_staff_sync_creates_moves_and_disables_never_deletes(app, ctx, fake):
    assert pull("yjpt", "org").status == "done"
    section, street = _org("SHYJ-KX"), _org("310101901")
    assert section.kind == "section" and section.parent_id == _org("SHYJ").id
    assert street.path == "/SHYJ/310101/310101901/" and street.district_code == "310101"
    run = pull("yjpt", "staff")
    assert (run.status, run.inserted) == ("done", 4)
    assert _user("yj003").org_id == street.id and _user("yj001").role_codes == {"city_officer"}
    assert _user("yj003").role_codes == {"street_officer"} and _user("yj001").must_change_password
    users = db.session.scalar(select(func.count()).select_from(User))
    fake.control(
        patch=[
            {"source": "yjpt", "dataset": "staff", "id": "S2", "set": {"org_code": "310104"}},
            {"source": "yjpt", "dataset": "staff", "id": "S3", "set": {"status": "离岗"}},
            {
                "source": "yjpt",
                "dataset": "org",
                "id": "O4",
                "set": {"parent_code": "310104", "name": "徐汇区测试街道"},
            },
        ]
    )
    assert pull("yjpt", "org").updated == 1
    assert _org("310101901").path == "/SHYJ/310104/310101901/" and _org("310101901").name == "徐汇区测试街道"
    run = pull("yjpt", "staff")
    assert (run.updated, run.unchanged) == (2, 2)
    assert _user("yj002").org_id == _org("310104").id
    assert _user("yj003").status == "disabled" and _user("yj003").is_active is False
    assert db.session.scalar(select(func.count()).select_from(User)) == users  # nobody deleted
    fake.control(
        patch=[
            {
                "source": "yjpt",
                "dataset": "staff",
                "id": "S5",
                "set": {"login": "yj005", "name": "周五", "org_code": "NOPE", "status": "在岗", "position": "队员"},
            }
        ]
    )
    run = pull("yjpt", "staff")
    assert run.rejected == 1 and _user("yj005") is None


def test_data_sets_become_records_and_enterprise_file_entries_once(app, ctx, fake):
    org = _org("310101")
    db.session.add(Enterprise(credit_code=credit_code(1), name="测试一", org_id=org.id))
    db.session.commit()
    for dataset in ("accident", "major_hazard", "soe_assessment"):
        assert pull("yjpt", dataset).inserted == 5
    entries = db.session.scalars(select(EnterpriseRecord).order_by(EnterpriseRecord.kind)).all()
    assert [e.kind for e in entries] == ["accident", "major_hazard"]  # 国企考核 has no 一企一档 kind
    assert entries[0].source == "数据交换：市应急管理局综合应用平台"
    db.session.query(__import__("app.exchange.models", fromlist=["ExchangeCursor"]).ExchangeCursor).delete()
    db.session.commit()
    assert pull("yjpt", "accident").unchanged == 5
    assert db.session.scalar(select(func.count()).select_from(EnterpriseRecord)) == 2


def test_governance_pull_and_push_with_ack_retry_and_resend(app, ctx, fake):
    run = pull("sjzl", "enterprise")
    assert (run.status, run.inserted) == ("done", 20)
    ent = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code(101)))
    assert ent.name == "上海治理平台001机械制造有限公司" and ent.org.code == "310104"
    from app.exchange.sources import sjzl

    refused = str(db.session.scalar(select(Enterprise.id).where(Enterprise.credit_code == credit_code(103))))
    fake.control(push_reject=[refused])
    batches = sjzl.push("enterprise")
    db.session.commit()
    assert [(b.status, b.size, b.accepted, b.rejected) for b in batches] == [("acked", 20, 19, 1)]
    item = db.session.scalar(select(PushItem).where(PushItem.status == "rejected"))
    assert item.ref_id == refused and item.reason == "统一社会信用代码与登记信息不符"
    assert item.payload["TYSHXYDM"] == credit_code(103) and "QYMC" in item.payload
    assert sjzl.push("enterprise") == []  # nothing new: accepted and rejected rows are not sent again
    fake.control(push_reject=[], push_errors=-1)
    db.session.add(Enterprise(credit_code=credit_code(900), name="新企业", org_id=_org("310101").id))
    db.session.flush()
    failed = sjzl.push("enterprise")
    db.session.commit()
    assert failed[0].status == "failed" and "暂时不可用" in failed[0].last_error
    fake.control(push_errors=0)
    retried = sjzl.retry_failed()
    assert retried[0].status == "acked" and retried[0].attempts == 2 and retried[0].accepted == 1
    resent = sjzl.resend_rejected("enterprise")
    db.session.commit()
    assert resent[0].accepted == 1 and item.status == "resent"
    pushed = fake.control()["pushed"]
    assert [len(p["ids"]) for p in pushed] == [20, 1, 1] and pushed[-1]["ids"] == [refused]
    assert db.session.scalar(select(func.count()).select_from(PushBatch)) == 3


def test_enrichment_is_cached_and_keeps_source_and_date(app, ctx, fake):
    from app.exchange.sources.enrich import enrich

    ent = Enterprise(
        credit_code=credit_code(7), name="待完善", org_id=_org("310101").id, address="上海市黄浦区中山东一路1号"
    )
    db.session.add(ent)
    db.session.commit()
    learnt = enrich(ent)
    db.session.commit()
    assert learnt["registered_capital"] == "500万元人民币" and 121 < ent.longitude < 122 and 31 < ent.latitude < 32
    facts = {f.field: f for f in db.session.scalars(select(EnterpriseFact))}
    assert facts["established_on"].source == "工商登记信息接口" and facts["latitude"].source == "地理编码接口"
    assert facts["established_on"].fetched_at is not None
    lookups = fake.control()["lookups"]
    enrich(ent)  # the cache answers: no new call
    assert fake.control()["lookups"] == lookups
    unknown = Enterprise(credit_code=credit_code(999), name="查无", org_id=_org("310101").id)
    db.session.add(unknown)
    db.session.flush()
    assert enrich(unknown) == {}


def test_quality_page_counts_missing_invalid_duplicate_by_source(app, fake, client_for):
    with app.app_context():
        make_user("dq", ["data_admin"])
        fake.control(duplicates=True)
        pull("zhzf", "inspection")
        fake.control(reset=True)
        fake.control(patch=[{"source": "zhzf", "dataset": "party", "id": "P0002", "set": {"phone": "12345"}}])
        fake.control(patch=[{"source": "zhzf", "dataset": "party", "id": "P0004", "set": {"name": ""}}])
        pull("zhzf", "party")
    page = client_for("dq").get("/exchange/quality")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "当事人基础信息" in html and "执法检查记录" in html
    from app.exchange.services import quality

    with app.app_context():
        rows = {r["dataset"]: r for r in quality()}
    assert rows["当事人基础信息"]["missing"] == 1 and rows["当事人基础信息"]["invalid"] == 1
    assert rows["执法检查记录"]["duplicates"] == 2 and rows["执法检查记录"]["pass_rate"] == 100.0
    for path in ("/exchange/reconciliations", "/exchange/push", "/exchange/rejects?status=ignored"):
        assert client_for("dq").get(path).status_code == 200


def test_demo_data_has_runs_in_every_state_and_every_page_renders(app, client_for):
    from app.demo.exchange import seed_exchange
    from app.exchange.models import ExchangeRun

    with app.app_context():
        make_user("dataadmin", ["data_admin"])  # the demo's account, with the tests' password
        assert seed_exchange()["exchange_runs"] == 9
        db.session.commit()
        assert seed_exchange() == {"exchange_runs": 0}  # idempotent
        states = set(db.session.scalars(select(ExchangeRun.status)))
        run_id = db.session.scalar(select(ExchangeRun.id).where(ExchangeRun.status == "partial"))
    assert states == {"queued", "running", "done", "partial", "failed"}
    admin = client_for("dataadmin")
    for path in (
        "/exchange/",
        "/exchange/rejects",
        "/exchange/reconciliations",
        "/exchange/push",
        "/exchange/quality",
        f"/exchange/runs/{run_id}",
    ):
        page = admin.get(path)
        assert page.status_code == 200, path
    html = admin.get("/exchange/").get_data(as_text=True)
    for label in ("成功", "部分成功", "失败", "运行中", "排队中"):
        assert label in html
    assert "「检查结论」取值应为" in admin.get(f"/exchange/runs/{run_id}").get_data(as_text=True)
    assert "不一致" in admin.get("/exchange/reconciliations").get_data(as_text=True)


def test_scheduled_pulls_queue_each_data_set_once_per_interval(app, fake):
    from app.exchange.models import ExchangeRun
    from app.exchange.services import scheduled_pulls
    from app.models_base import utcnow
    from app.reports import jobs

    with app.app_context():
        assert scheduled_pulls(utcnow()) == 0  # switched off unless configured
        app.config["EXCHANGE_SCHEDULE"] = True
        try:
            queued = scheduled_pulls(utcnow())
            db.session.commit()
            assert queued == 11  # zhzf 2, yjpt 8, sjzl 1
            assert jobs.wait_for_jobs(60)
            assert scheduled_pulls(utcnow()) == 0
            db.session.commit()
            runs = db.session.scalars(select(ExchangeRun)).all()
            assert len(runs) == 11 and {r.trigger for r in runs} == {"schedule"}
            assert {r.status for r in runs} <= {"done", "partial"}
        finally:
            app.config["EXCHANGE_SCHEDULE"] = False


def test_streamed_csv_import_counts_and_is_idempotent(app, ctx, tmp_path):
    from app.exchange.bulk import import_csv
    from bench.exchange_import import write_csv

    path = tmp_path / "inspections.csv"
    write_csv(path, 450)  # 450 good rows and one bad one (row 0 of every 9,973)
    run = import_csv(path, "zhzf", "inspection", chunk=100)
    assert (run.status, run.fetched, run.inserted, run.rejected, run.pages) == ("partial", 451, 450, 1, 5)
    again = import_csv(path, "zhzf", "inspection", chunk=100)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 450, 1)


def test_enrich_page_runs_a_background_job(app, fake, client_for):
    from app.reports import jobs

    with app.app_context():
        make_user("dq2", ["data_admin"])
        org_id = _org("310101").id
        for n in range(3):
            db.session.add(
                Enterprise(credit_code=credit_code(300 + n), name=f"批量{n}", org_id=org_id, address=f"测试路{n}号")
            )
        db.session.commit()
    admin = client_for("dq2")
    assert "批量1" in admin.get("/exchange/enrich").get_data(as_text=True)
    bar = admin.post("/exchange/enrich", headers={"HX-Request": "true"})
    assert bar.status_code == 200 and "progress" in bar.get_data(as_text=True)
    assert jobs.wait_for_jobs(30)
    html = admin.get("/exchange/enrich").get_data(as_text=True)
    assert "所有企业均已完善" in html
    with app.app_context():
        ent_id = db.session.scalar(select(Enterprise.id).where(Enterprise.name == "批量0"))
    facts = admin.get(f"/exchange/enterprises/{ent_id}/facts").get_data(as_text=True)
    assert "地理编码接口" in facts and "工商登记信息接口" in facts and "注册资本" in facts


def test_qualified_case_files_are_pushed_once_in_the_ministry_format(app, ctx, fake):
    """合格案卷: a case with a signed 合格/优秀 review whose file the unit submitted goes out; one reviewed as
    不合格, or not yet submitted, does not."""
    from datetime import date

    from app.cases.models import Case, CaseParty, CaseReview, ReviewRuleSet
    from app.exchange.sources import sjzl
    from app.models_base import utcnow

    rules = ReviewRuleSet(case_type="general", version=1, status="published", items=[], limits={})
    db.session.add(rules)
    db.session.flush()

    def case(number: str, conclusion: str, submitted: bool) -> Case:
        row = Case(
            number=number, title=f"{number} 未按规定开展安全培训案", case_type="general", org_id=_org("310101").id,
            filed_on=date(2026, 9, 1), closed_on=date(2026, 10, 20), submitted_at=utcnow() if submitted else None,
        )  # fmt: skip
        row.parties = [
            CaseParty(kind="unit", name="上海某化工有限公司", id_code=credit_code(7), penalty_yuan=30000),
            CaseParty(kind="person", name="张三", id_code="主要负责人", penalty_yuan=5000),
        ]
        db.session.add(row)
        db.session.flush()
        db.session.add(
            CaseReview(case_id=row.id, rule_set_id=rules.id, status="signed", total_score=92.0,
                       conclusion=conclusion, signed_at=utcnow())
        )  # fmt: skip
        return row

    good = case("沪应急罚〔2026〕101号", "qualified", True)
    case("沪应急罚〔2026〕102号", "unqualified", True)
    case("沪应急罚〔2026〕103号", "excellent", False)
    db.session.flush()
    batches = sjzl.push("qualified_case")
    db.session.commit()
    assert [(b.status, b.size, b.accepted) for b in batches] == [("acked", 1, 1)]
    item = db.session.scalar(select(PushItem).where(PushItem.dataset == "qualified_case"))
    assert item.ref_id == str(good.id)
    assert item.payload["AJBH"] == "沪应急罚〔2026〕101号" and item.payload["PCJL"] == "合格"
    assert item.payload["FKJE"] == 35000 and item.payload["TYSHXYDM"] == credit_code(7)
    assert sjzl.push("qualified_case") == []  # accepted: not sent again
    assert fake.control()["pushed"][-1]["dataset"] == "qualified_case"
