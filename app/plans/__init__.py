"""Monthly inspection plans: assisted generation, 双随机 draw, review process, execution warnings."""


def init_app(app) -> None:
    """Register the plan.* service tasks and the `plans.execution` scheduler job."""
    from app.engine.cli import register_jobs
    from app.engine.services import register_services
    from app.plans import process

    register_services(process)
    register_jobs(process)
