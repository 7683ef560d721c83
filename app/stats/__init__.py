"""Statistics (统计分析): process and task figures by month, year-on-year and month-on-month, and the
monthly supervision report generated in the background as a PDF; 监督统计分析 over summary tables,
the 月报/季报/年报 signed off in the inbox, and the big screen."""


def init_app(app) -> None:
    """Track summary-table changes, register the stats.* service tasks and scheduler jobs."""
    from app.engine.cli import register_jobs
    from app.engine.services import register_services
    from app.stats import jobs, periodic, summary

    summary.install()
    register_services(periodic)
    register_jobs(jobs)
