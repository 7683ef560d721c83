"""效能评估与识别 (R2.4.1, R2.4.2): versioned models, monthly scores, verification and improvement in the
inbox, the non-compliance rules and their records."""


def init_app(app) -> None:
    """Register the efficiency.* service tasks and the scheduler jobs."""
    from app.efficiency import jobs, process
    from app.engine.cli import register_jobs
    from app.engine.services import register_services

    register_services(process)
    register_jobs(jobs)
