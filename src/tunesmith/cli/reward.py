"""`tunesmith reward train`: a reward model learned from pairwise choices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import WorkspaceOption, app, console, fail, progress_bar, stage_errors
from tunesmith.config import ConfigError
from tunesmith.config.workspace import open_workspace

reward_app = typer.Typer(help="Reward models learned from human pairwise choices.")
app.add_typer(reward_app, name="reward")


@reward_app.command("train")
def reward_train_command(
    pairs: Annotated[
        list[Path] | None, typer.Option(help="Preference JSONL file (repeatable).")
    ] = None,
    with_review: Annotated[
        bool,
        typer.Option("--with-review", help="Add the reviewers' pairs (a share is held out)."),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Train a scalar-head LoRA on the base model (Bradley-Terry); writes a run folder."""
    from tunesmith.preference.pairs import PreferenceInputError
    from tunesmith.review.export import PREFERENCES_FILE
    from tunesmith.store.audit import AuditError
    from tunesmith.train.reward import reward_train

    ws = open_workspace(workspace)
    files = [p if p.exists() or p.is_absolute() else ws.root / p for p in pairs or []]
    reviews = [ws.root / PREFERENCES_FILE] if with_review else []
    if not files and not reviews:
        raise fail("no preference data: give --pairs FILE and/or --with-review")
    with stage_errors(ConfigError, PreferenceInputError, AuditError, OSError):
        config = ws.load_config()
        with progress_bar(eta=True) as progress:
            task = progress.add_task("reward model", total=None)

            def show(step: int, total: int, metrics: dict[str, float]) -> None:
                shown = ", ".join(
                    f"{k} {v:.3g}" for k, v in metrics.items() if k in ("loss", "accuracy")
                )
                progress.update(task, completed=step, total=total, description=f"reward {shown}")

            result = reward_train(ws, config, files, reviews, show)
    counts = result.counts
    accuracy = "n/a" if result.val_accuracy is None else f"{result.val_accuracy:.3f}"
    console.print(
        f"run {result.run_id}: {result.steps} steps on {counts['train']} pairs "
        f"({counts['quarantined']} quarantined, {counts['too_long']} over max_length, "
        f"{counts['val']} for validation, {counts['held_out_for_judges']} human pairs held out)\n"
        f"validation pairwise accuracy {accuracy}; `tunesmith eval --model {result.run_id}` "
        f"scores it on the held-out human decisions\n{result.path}/adapter"
    )
