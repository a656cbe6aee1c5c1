"""Settings as command-line flags: every ``leadroute`` command that needs settings takes them this way.

Kept apart from ``streams.cli.main`` so command groups in other modules can use it
without importing the CLI's entry module (which registers them).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Collection
from typing import Any

import click
from rich.console import Console

from streams.settings import SETTINGS_FIELDS, Settings

console = Console(stderr=True)


def _option_for(spec: Any, *, hidden: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
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
        hidden=hidden,
        help=f"{spec.metadata['help']} [env {spec.metadata['env']}; default {default}]",
    )


def with_settings(
    command: Callable[..., Any] | None = None,
    *,
    shown: Collection[str] | None = None,
    hidden: Collection[str] = (),
) -> Any:
    """Adds a flag for every setting; flags win over ``LEADROUTE_*`` env vars.

    ``@with_settings`` lists every setting in ``--help``; ``@with_settings(shown=names)``
    lists only those and ``hidden=names`` leaves some out. A setting left out of the
    help still works as a flag and as its env var, so nothing a script passes breaks.
    """
    if command is None:
        return functools.partial(_with_settings, shown=shown, hidden=hidden)
    return _with_settings(command, shown=shown, hidden=hidden)


def _with_settings(
    command: Callable[..., Any], *, shown: Collection[str] | None, hidden: Collection[str]
) -> Callable[..., Any]:
    known = {spec.name for spec in SETTINGS_FIELDS}
    unknown = sorted({*(shown or ()), *hidden} - known)
    if unknown:
        raise ValueError(f"not settings: {', '.join(unknown)}")

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
        out_of_help = spec.name in hidden or (shown is not None and spec.name not in shown)
        command_with_flags = _option_for(spec, hidden=out_of_help)(command_with_flags)
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
