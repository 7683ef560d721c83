"""The alert centre (预警中心): overdue and due-soon tasks, abnormal-flow alerts and their closure."""


def init_app(app) -> None:
    """Register the scheduler-round jobs `alerts.sweep` and `clues.scan`."""
    from app.alerts import jobs
    from app.engine.cli import register_jobs

    register_jobs(jobs)
