"""Clue verification (线索核查): registration, the clue list and page, statistics, follows and warnings."""


def init_app(app) -> None:
    """Register the clue.* service tasks (the scheduler job `clues.scan` lives with the alert centre)."""
    from app.clues import process
    from app.engine.services import register_services

    register_services(process)
