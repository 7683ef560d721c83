"""Account-opening applications (账号开通审核) for district, street and SOE group accounts."""


def init_app(app) -> None:
    """Register the account.* service tasks."""
    from app.accounts_apply import process
    from app.engine.services import register_services

    register_services(process)
