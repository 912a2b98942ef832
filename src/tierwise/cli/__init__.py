"""The ``tierwise`` command. Thin: it parses arguments, calls the library, renders with rich.

Every ``TierwiseError`` becomes one line on stderr and exit code 2; nothing prints a traceback
for bad input.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tierwise.cli.console import one_line_errors
from tierwise.cli.costs import cost
from tierwise.cli.db import db_app
from tierwise.cli.demo import demo, fake_anthropic
from tierwise.cli.estimate_error import estimate_error_command
from tierwise.cli.evaluate import calibrate_command, eval_command
from tierwise.cli.orchestrate import orchestrate_command
from tierwise.cli.policy import policy_app
from tierwise.cli.replay import replay_command
from tierwise.cli.report import report_command
from tierwise.cli.review import review_command
from tierwise.cli.routing import models, recommend, route
from tierwise.cli.serve import serve_command
from tierwise.cli.train import train_command

app = typer.Typer(
    name="tierwise",
    help="Send each Claude request to the cheapest model tier that does it well.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"tierwise {version('tierwise')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Send each Claude request to the cheapest model tier that does it well."""


app.command()(recommend)
app.command()(route)
app.command()(models)
app.command()(cost)
app.command()(demo)
app.command(name="serve")(serve_command)  # imports Starlette/uvicorn only when it runs
app.add_typer(db_app, name="db")  # imports SQLAlchemy only when a db command runs
app.add_typer(policy_app, name="policy")
app.command(name="eval")(one_line_errors(eval_command))  # numpy only when it runs
app.command(name="train")(one_line_errors(train_command))  # scikit-learn only when it runs
app.command(name="calibrate")(one_line_errors(calibrate_command))
app.command(name="orchestrate")(orchestrate_command)  # imports the SDK only when it runs
app.command(name="report")(one_line_errors(report_command))  # SQLAlchemy only when run
app.command(name="review")(one_line_errors(review_command))  # SQLAlchemy only when run
app.command(name="replay")(one_line_errors(replay_command))  # SQLAlchemy only when run
app.command(name="estimate-error")(one_line_errors(estimate_error_command))  # SQLAlchemy too

app.command(name="fake-anthropic")(fake_anthropic)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
