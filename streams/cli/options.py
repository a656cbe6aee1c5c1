"""Settings as command-line flags: every ``leadroute`` command that needs settings takes them this way.

Kept apart from ``streams.cli.main`` so command groups in other modules can use it
without importing the CLI's entry module (which registers them).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

from streams.settings import SETTINGS_FIELDS, Settings

console = Console(stderr=True)


def _option_for(spec: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    kind = str(spec.type)
    click_type: Any = (
        bool
        if kind.startswith("bool")
        else int
        if kind.startswith("int")
        else float
        if kind.startswith("float")
        else str
    )
    default = spec.default if spec.default is not None else "unset"
    return click.option(
        "--" + spec.name.replace("_", "-"),
        spec.name,
        type=click_type,
        default=None,
        help=f"{spec.metadata['help']} [env {spec.metadata['env']}; default {default}]",
    )


def with_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds a flag for every setting; flags win over ``LEADROUTE_*`` env vars."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        overrides = {spec.name: kwargs.pop(spec.name) for spec in SETTINGS_FIELDS}
        try:
            settings = Settings.from_env(**overrides)
        except ValueError as error:
            console.print(f"[red]Invalid setting:[/] {error}")
            sys.exit(2)
        configure_logging(settings.log_level)
        return command(*args, settings=settings, **kwargs)

    command_with_flags: Callable[..., Any] = wrapper
    for spec in reversed(SETTINGS_FIELDS):
        command_with_flags = _option_for(spec)(command_with_flags)
    return command_with_flags


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def exit_on_bad_configuration(error: ValueError) -> None:
    """A bad rules, owners or settings file ends the command with exit 2 and the reason."""
    console.print(f"[red]Invalid configuration:[/] {error}")
    sys.exit(2)
