"""Navigation by module; an entry shows when its endpoint exists and the user holds a permission."""

from __future__ import annotations

from flask import current_app, url_for

# (label, icon, endpoint, any-of permissions; empty = every logged-in user)
NAV = [
    ("工作台", "house", "portal.home", ()),
    ("待办", "inbox", "inbox.index", ("inbox.use",)),
    ("线索核查", "search", "clues.index", ("clue.register", "clue.review", "clue.judge", "clue.handle")),
    ("计划管理", "calendar-check", "plans.index", ("plan.draft", "plan.approve")),
    ("企业监管", "building", "enterprises.index", ("enterprise.read", "enterprise.edit")),
    ("触发式监管", "lightning", "triggers.index", ("enterprise.read",)),
    ("综合查一次", "clipboard-check", "checklimit.index", ("enterprise.read",)),
    ("指挥调度", "broadcast", "dispatch.screen", ("clue.dispatch", "enterprise.read")),
    ("预警中心", "bell", "alerts.index", ("inbox.use",)),
    ("知识智库", "book", "knowledge.index", ("knowledge.read",)),
    ("案卷评查", "folder-check", "cases.index", ("case.read",)),
    ("账号申请", "person-plus", "accounts_apply.index", ("account.apply", "account.approve")),
    ("文书管理", "file-earmark-text", "reports.index", ("inbox.use", "report.signoff")),
    ("技能拉练", "mortarboard", "training.index", ("training.use", "training.mark", "training.admin")),
    ("统计分析", "bar-chart", "stats.index", ("stats.read",)),
    ("效能督查", "speedometer2", "efficiency.index", ("stats.read",)),
    ("评议考核", "award", "appraisal.index", ("inbox.use",)),
    ("国企监督", "buildings", "soe.index", ("soe.read",)),
    ("统计查询", "table", "stats.query", ("stats.read",)),
    ("大屏展示", "display", "screen.index", ("stats.read",)),
    ("流程管理", "diagram-3", "processes.index", ("process.admin",)),
    ("审批设计", "diagram-2", "designer.index", ("process.admin",)),
    ("系统管理", "gear", "admin.user_list", ("user.admin", "org.admin", "role.admin")),
    ("期限审批", "hourglass-split", "deadlines.index", ("deadline.approve",)),
    ("审计日志", "journal-text", "audit.index", ("audit.read",)),
    ("数据交换", "arrow-left-right", "exchange.index", ("exchange.admin",)),
    ("国企数据报送", "cloud-upload", "exchange.soe", ("exchange.submit",)),
]


def nav_for(user) -> list[dict]:
    items = []
    endpoints = current_app.view_functions
    for label, icon, endpoint, perms in NAV:
        if endpoint not in endpoints:
            continue
        if perms and not any(user.can(p) for p in perms):
            continue
        items.append({"label": label, "icon": icon, "url": url_for(endpoint), "endpoint": endpoint})
    return items
