"""Demo data of the data exchange: a data administrator, run logs in every state, rejected rows,
reconciliations (one mismatch with its alert), push batches and SOE submissions. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import User
from app.exchange.fakes.data import credit_code
from app.exchange.models import (
    ExchangeRecord,
    ExchangeReject,
    ExchangeRun,
    PushBatch,
    PushItem,
    Reconciliation,
    Submission,
)
from app.exchange.sync import checksum
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation

# (source, data set, status, fetched, inserted, updated, unchanged, rejected, duplicates, retries, message, hours ago)
RUNS = [
    ("zhzf", "inspection", "done", 1240, 1180, 60, 0, 0, 3, 0, "同步完成", 30),
    ("zhzf", "party", "done", 860, 12, 4, 844, 0, 0, 1, "同步完成", 29),
    ("zhzf", "inspection", "partial", 420, 388, 20, 0, 12, 0, 0, "12 条数据未通过校验，已保留待处理", 6),
    ("yjpt", "staff", "failed", 0, 0, 0, 0, 0, 0, 0, "上游系统认证失败（HTTP 401），请检查接口账号与密钥", 5),
    ("yjpt", "org", "done", 41, 2, 1, 38, 0, 0, 0, "同步完成", 5),
    (
        "sjzl",
        "enterprise",
        "failed",
        200,
        200,
        0,
        0,
        0,
        0,
        3,
        "上游系统返回的数据页无法解析（/api/enterprise）（已完成 2 页，下次从原游标重新拉取）",
        3,
    ),
    ("yjpt", "accident", "partial", 35, 30, 0, 0, 5, 0, 0, "上游数据结构变化：缺少字段 title；新字段 sgmc", 2),
    ("zhzf", "party", "running", 300, 280, 0, 20, 0, 0, 0, None, 0),
    ("sjzl", "enterprise", "queued", 0, 0, 0, 0, 0, 0, 0, None, 0),
]


def seed_exchange() -> dict[str, int]:
    if db.session.scalar(select(ExchangeRun.id).limit(1)):
        return {"exchange_runs": 0}
    from app.auth.services import create_user
    from app.demo.seed import DEMO_PASSWORD

    city = db.session.scalar(select(Organisation).where(Organisation.kind == "city"))
    admin = db.session.scalar(select(User).where(User.login == "dataadmin"))
    if admin is None:
        admin = create_user(
            login="dataadmin",
            name="数据管理员",
            org=city,
            password=DEMO_PASSWORD,
            roles=["data_admin"],
            position="数据管理员",
            must_change_password=False,
        )
    now = utcnow()
    runs = []
    for source, dataset, status, f, i, u, n, r, d, retries, message, hours in RUNS:
        started = now - timedelta(hours=hours, minutes=5)
        run = ExchangeRun(
            source=source,
            dataset=dataset,
            trigger="schedule" if hours % 2 else "manual",
            status=status,
            fetched=f,
            inserted=i,
            updated=u,
            unchanged=n,
            rejected=r,
            duplicates=d,
            retries=retries,
            message=message,
            pages=max(1, f // 100),
            started_at=started,
            created_by_id=admin.id,
        )
        if status not in ("queued", "running"):
            run.finished_at = started + timedelta(seconds=12 + f // 50)
            run.duration_ms = int((run.finished_at - started).total_seconds() * 1000)
        db.session.add(run)
        runs.append(run)
    db.session.flush()
    partial = runs[2]
    for n in range(1, 13):
        row = {
            "id": f"JC9{n:04d}",
            "version": 1,
            "changed_at": now.isoformat(),
            "party_credit_code": credit_code(n),
            "party_name": f"上海演示{n:03d}有限公司",
            "inspected_on": "2026-11-30",
            "result": "复查",
        }
        db.session.add(
            ExchangeReject(
                run_id=partial.id,
                source="zhzf",
                dataset="inspection",
                source_id=row["id"],
                row=row,
                reasons=[
                    {
                        "field": "result",
                        "kind": "invalid",
                        "message": "「检查结论」取值应为：未发现问题、责令整改、立案查处",
                    }
                ],
            )
        )
    for n in range(1, 6):
        row = {
            "id": f"ACC{n:03d}",
            "version": 1,
            "changed_at": now.isoformat(),
            "credit_code": credit_code(n),
            "sgmc": f"演示事故{n}",
            "occurred_on": "2026-11-01",
        }
        db.session.add(
            ExchangeReject(
                run_id=runs[6].id,
                source="yjpt",
                dataset="accident",
                source_id=row["id"],
                row=row,
                reasons=[{"field": "title", "kind": "missing", "message": "缺少必填项「事故名称」"}],
            )
        )
    for n in range(1, 21):
        data = {
            "id": f"JC8{n:04d}",
            "version": 1,
            "changed_at": (now - timedelta(days=1)).isoformat(),
            "party_credit_code": credit_code(n),
            "party_name": f"上海演示{n:03d}有限公司",
            "inspected_on": (now - timedelta(days=1)).date().isoformat(),
            "result": "责令整改",
        }
        db.session.add(
            ExchangeRecord(
                source="zhzf",
                dataset="inspection",
                source_id=data["id"],
                version=1,
                checksum=checksum(data),
                data=data,
                changed_at=now - timedelta(days=1),
                run_id=runs[0].id,
            )
        )
    for days, theirs, ours in ((2, 418, 418), (1, 422, 420)):
        db.session.add(
            Reconciliation(
                source="zhzf",
                dataset="inspection",
                period=(now - timedelta(days=days)).date().isoformat(),
                source_count=theirs,
                local_count=ours,
                matched=theirs == ours,
                source_checksum="a" * 64,
                local_checksum="a" * 64 if theirs == ours else "b" * 64,
            )
        )
    batch = PushBatch(
        dataset="enterprise",
        status="acked",
        size=3,
        accepted=2,
        rejected=1,
        attempts=1,
        ack_id="ACK-000001",
        acked_at=now - timedelta(hours=1),
    )
    for n, status in ((1, "accepted"), (2, "accepted"), (3, "rejected")):
        batch.items.append(
            PushItem(
                dataset="enterprise",
                ref_id=str(n),
                payload={"id": str(n)},
                status=status,
                reason="统一社会信用代码与登记信息不符" if status == "rejected" else None,
            )
        )
    db.session.add(batch)
    db.session.add(
        PushBatch(
            dataset="inspection", status="failed", size=0, attempts=3, last_error="上游系统暂时不可用（HTTP 503）"
        )
    )
    group = db.session.scalar(select(Organisation).where(Organisation.kind == "soe_group").order_by(Organisation.code))
    if group is not None:
        db.session.add(
            Submission(
                org_id=group.id,
                dataset="soe_inspection",
                channel="upload",
                status="accepted",
                rows=18,
                accepted=18,
                filename="11月检查记录.xlsx",
            )
        )
        db.session.add(
            Submission(
                org_id=group.id,
                dataset="soe_inspection",
                channel="api",
                status="refused",
                rows=5,
                problems=[{"row": 3, "column": "检查日期", "message": "「检查日期」日期格式应为 YYYY-MM-DD"}],
            )
        )
    db.session.flush()
    return {"exchange_runs": len(runs)}
