"""Realistic sample contexts for the two report templates (the demo button and the tests use them)."""

from __future__ import annotations

from datetime import date, timedelta


def investigation_order_context(*, district: str = "黄浦区", dispatch_to: str = "黄浦区应急管理局执法大队") -> dict:
    today = date.today()
    return {
        "title": "线索调查单",
        "clue_no": f"XS-{today.year}-000123",
        "source": "12345 市民服务热线转办工单",
        "enterprise": "上海申江化工贸易有限公司",
        "credit_code": "91310101MA1FL2X35K",
        "address": f"上海市{district}中山南路 1088 号",
        "district": district,
        "matter": (
            "群众反映该企业夜间在厂区内违规装卸危险化学品，装卸区域未设置警戒，现场无专人监护。\n"
            "另反映其仓库长期超量储存乙醇等易燃液体，存在较大火灾风险。"
        ),
        "deadline": today + timedelta(days=7),
        "dispatch_to": dispatch_to,
        "recipient": dispatch_to,
        "requirements": [
            "接单后两个工作日内赴现场核查，核实举报内容是否属实。",
            "对装卸作业、仓储现场拍照取证，调取近一个月的出入库台账。",
            "发现重大事故隐患的，依法责令立即整改并同步报告总队。",
            "按时限填写调查报告，经大队负责人审核后报送。",
        ],
        "contact": "总队指挥中心 李晓峰 021-6432 1234",
    }


def investigation_report_context(*, district: str = "黄浦区") -> dict:
    today = date.today()
    return {
        "title": "关于上海申江化工贸易有限公司违规储存危险化学品问题的调查报告",
        "recipient": "上海市应急管理局执法总队",
        "clue_no": f"XS-{today.year}-000123",
        "enterprise": "上海申江化工贸易有限公司",
        "credit_code": "91310101MA1FL2X35K",
        "address": f"上海市{district}中山南路 1088 号",
        "district": district,
        "industry": "危险化学品经营（带储存）",
        "legal_person": "王建华",
        "investigators": ["张伟", "刘芳"],
        "investigated_at": today - timedelta(days=2),
        "findings": (
            "接到调查单后，执法人员于当日赴该企业开展现场核查，企业安全负责人陪同检查。\n"
            "经核查，该企业 2 号仓库内储存乙醇约 3.2 吨，超过安全评价核定的最大储存量（2 吨）；"
            "仓库内未按规定安装可燃气体浓度检测报警装置。\n"
            "调取监控录像及出入库台账，证实该企业于夜间在厂区东侧空地装卸危险化学品，现场未设置警戒，"
            "无专职安全管理人员在场监护。举报反映的问题基本属实。"
        ),
        "hazards": [
            {
                "description": "2 号仓库乙醇储存量约 3.2 吨，超过核定最大储存量",
                "location": "2 号仓库",
                "level": "重大",
                "rectification": "立即将超量物料转移至合规仓储单位",
                "deadline": today + timedelta(days=3),
            },
            {
                "description": "仓库未安装可燃气体浓度检测报警装置",
                "location": "2 号仓库",
                "level": "一般",
                "rectification": "安装报警装置并接入企业监控平台",
                "deadline": today + timedelta(days=15),
            },
            {
                "description": "夜间装卸作业未设置警戒区域，无专人监护",
                "location": "厂区东侧空地",
                "level": "一般",
                "rectification": "制定装卸作业管理制度，落实专人监护",
                "deadline": today + timedelta(days=7),
            },
        ],
        "measures": [
            "现场责令企业立即停止在厂区空地装卸危险化学品，对超量储存的乙醇限期转移。",
            "对超量储存危险化学品的违法行为依法立案调查，制作现场检查记录和询问笔录。",
            "约谈企业主要负责人，督促其落实安全生产主体责任，一周后组织复查。",
        ],
        "conclusion": (
            "线索反映的违规装卸、超量储存危险化学品问题属实。大队已依法责令整改并立案查处，复查结果另行报告。"
        ),
        "reviewer_opinion": "同意调查结论和处理意见。请大队跟踪隐患整改，按期完成复查。",
        "reviewer": "黄浦区执法大队 陈立新",
        "reviewed_at": today,
        "copy_to": f"{district}应急管理局",
    }
