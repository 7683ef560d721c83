"""Fixtures for the skill-training tests: a small question bank, a competition, the marking process."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.orgs.models import Organisation
from app.training import bank, compete
from tests.conftest import user

START = datetime(2026, 6, 15, 9, 0, tzinfo=SHANGHAI)

LAWS = ["中华人民共和国安全生产法", "生产安全事故报告和调查处理条例"]


def make_bank(n_single: int = 6, n_multi: int = 3, n_judge: int = 4, n_case: int = 2) -> None:
    admin = user("leader")
    for i in range(n_single):
        bank.save_question(
            admin,
            {
                "qtype": "单选",
                "stem": f"单选题第 {i + 1} 题：生产经营单位的主要负责人是本单位安全生产的（　）？",
                "options": ["第一责任人", "直接责任人", "监督人", "间接责任人"],
                "answer": "A",
                "explanation": "安全生产法第五条",
                "law": LAWS[i % 2],
                "difficulty": "易",
            },
        )
    for i in range(n_multi):
        bank.save_question(
            admin,
            {
                "qtype": "多选",
                "stem": f"多选题第 {i + 1} 题：下列属于“三同时”的有（　）？",
                "options": ["同时设计", "同时施工", "同时验收", "同时投入生产和使用"],
                "answer": "ABD",
                "law": LAWS[0],
                "industry": "建设工程",
            },
        )
    for i in range(n_judge):
        bank.save_question(
            admin,
            {
                "qtype": "判断",
                "stem": f"判断题第 {i + 1} 题：特种作业人员未取得相应资格也可以上岗作业。",
                "answer": "错",
                "law": LAWS[i % 2],
                "difficulty": "难",
            },
        )
    for i in range(n_case):
        bank.save_question(
            admin,
            {
                "qtype": "案例分析",
                "stem": f"案例分析第 {i + 1} 题：某化工企业未对重大危险源登记建档，请分析其违法行为及处罚。",
                "answer": "违反安全生产法第四十条；依第一百零一条责令限期改正，可处十万元以下罚款。",
                "law": LAWS[0],
                "industry": "危险化学品",
            },
        )
    db.session.flush()


def make_competition(**over):
    values = {
        "name": "2026 年全市执法比武",
        "count_single": "3",
        "score_single": "10",
        "count_multi": "2",
        "score_multi": "10",
        "count_judge": "2",
        "score_judge": "5",
        "count_case": "1",
        "score_case": "20",
        "time_limit_minutes": "30",
        "max_attempts": "1",
        "starts_at": START,
        "ends_at": START + timedelta(hours=8),
        "marker_logins": "city_officer,hp_leader",
        **over,
    }
    return compete.save_competition(user("leader"), values)


def deploy_marking(app) -> None:
    from app.engine import deploy

    folder = Path(app.config["WORKFLOWS_DIR"])
    deploy.deploy(deploy.sources_from_files(folder / "training_marking.bpmn"))


def org(code: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))
