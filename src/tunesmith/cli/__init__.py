"""The `tunesmith` command: parse, call the stage API, print. No logic lives here.

`common.py` creates the Typer app; each stage's module registers its commands on it when
imported below, in the order `tunesmith --help` lists them.
"""

from __future__ import annotations

import os
import warnings

from tunesmith.cli.common import app, err_console

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: an unexpected error is one line on stderr and exit code 2, not a traceback."""
    # library deprecation notices and per-file loading bars are for library developers
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        app()
    except Exception as err:  # the known errors are handled per command; this is a bug
        err_console.print(f"[red]internal error:[/red] {type(err).__name__}: {err}", markup=True)
        err_console.print("Set TUNESMITH_DEBUG=1 for the traceback and please report it.")
        if os.environ.get("TUNESMITH_DEBUG"):
            raise
        raise SystemExit(2) from None


# registration order is the order `tunesmith --help` lists the commands in
# isort: off
from tunesmith.cli import (  # noqa: E402, F401
    data,
    train,
    align,
    reward,
    evaluate,
    governance,
    job,
    knowledge,
    memory,
    monitor,
    registry,
    serve,
)
# isort: on

if __name__ == "__main__":
    main()
