"""How CLI commands get the application: settings from the environment, then the factory."""

from __future__ import annotations

from carecall.access.model import Principal
from carecall.app import Carecall, open_app
from carecall.core.config import load_settings
from carecall.core.errors import ConfigError
from carecall.store import migrate

CLI_PRINCIPAL = Principal.system("cli")


def cli_app(*, require_init: bool = True) -> Carecall:
    """Open carecall for a command; refuse clearly when ``carecall init`` has not run."""
    settings = load_settings()
    app = open_app(settings)
    if not require_init:
        return app
    try:
        _check_ready(app)
    except BaseException:
        app.close()
        raise
    return app


def _check_ready(app: Carecall) -> None:
    app.db.ping()
    if migrate.current_revision(app.db.engine) != migrate.head_revision():
        raise ConfigError(
            "The database is not initialised or not migrated; run 'carecall init' first."
        )
    app.key_provider.check()
