"""The ``carecall`` command: Typer app and the one place errors become exit codes.

Every command raises ``CarecallError`` for anything a user can cause; ``main`` prints its
one-line message to stderr and exits with its code. Anything else is a bug: the user gets a
one-line apology without a traceback (the traceback would risk printing PHI).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from carecall.core.errors import CarecallError

app = typer.Typer(
    name="carecall",
    help="carecall: AI phone and SMS agent for healthcare practices, with HIPAA and TCPA "
    "rules enforced in code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

INTERNAL_ERROR_EXIT = 70


def _register() -> None:
    from carecall.cli import apikeys, keys, patients, setup, tenants, users

    setup.register(app)
    app.add_typer(users.app, name="users")
    app.add_typer(apikeys.app, name="apikeys")
    app.add_typer(keys.app, name="keys")
    app.add_typer(tenants.app, name="tenants")
    app.add_typer(patients.app, name="patients")
    from carecall.cli import recordings

    app.add_typer(recordings.app, name="recordings")
    from carecall.cli import consent

    app.add_typer(consent.app, name="consent")
    app.add_typer(consent.dnc_app, name="dnc")
    for module_name, name in (("carecall.cli.audit", "audit"), ("carecall.cli.phi", "phi"),
                             ("carecall.cli.policy", "policy"), ("carecall.cli.calls", "call"),
                             ("carecall.cli.campaigns", "campaigns")):
        import importlib

        module = importlib.import_module(module_name)
        app.add_typer(module.app, name=name)


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one exit per error kind
    """Run the CLI and return its exit code instead of exiting (tests call this)."""
    if not app.registered_groups:
        _register()
    try:
        result = app(
            args=list(argv) if argv is not None else None,
            prog_name="carecall",
            standalone_mode=False,
        )
    except typer.Abort:
        print("carecall: aborted.", file=sys.stderr)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: Typer says what is wrong, and how
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"carecall: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except CarecallError as exc:
        print(f"carecall: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("carecall: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        print(
            f"carecall: internal error ({type(exc).__name__}); nothing more is shown "
            "because details could contain patient data. Please report it.",
            file=sys.stderr,
        )
        return INTERNAL_ERROR_EXIT
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
