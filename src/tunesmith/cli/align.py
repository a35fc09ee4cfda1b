"""`tunesmith align` and `tunesmith feedback ...`: preference data, judges, preference tuning."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    console,
    fail,
    progress_bar,
    stage_errors,
    workspace_and_config,
)
from tunesmith.config import ConfigError, with_section
from tunesmith.config.workspace import open_workspace

feedback_app = typer.Typer(help="Preference pairs from AI feedback; judges and their agreement.")
app.add_typer(feedback_app, name="feedback")


@app.command("align")
def align_command(
    sft: Annotated[str | None, typer.Option(help="SFT run whose adapter is tuned further.")] = None,
    pairs: Annotated[
        list[Path] | None, typer.Option(help="Preference JSONL file (repeatable).")
    ] = None,
    with_review: Annotated[
        bool, typer.Option("--with-review", help="Add the review queue's pairs.")
    ] = False,
    method: Annotated[str | None, typer.Option(help="dpo or orpo (default: align.method).")] = None,
    resume: Annotated[str | None, typer.Option(help="Align run id to continue.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Preference-tune an SFT run on pairs (DPO against the SFT model, or ORPO); writes a run."""
    from tunesmith.preference.pairs import PreferenceInputError
    from tunesmith.review.export import PREFERENCES_FILE
    from tunesmith.store.audit import AuditError
    from tunesmith.train.align import align

    ws = open_workspace(workspace)
    # a relative path is the workspace's when it is not the current folder's
    files = [p if p.exists() or p.is_absolute() else ws.root / p for p in pairs or []]
    reviews = [ws.root / PREFERENCES_FILE] if with_review else []
    if not files and not reviews and not resume:
        raise fail("no preference data: give --pairs FILE and/or --with-review")
    with stage_errors(ConfigError, PreferenceInputError, AuditError, OSError):
        config = ws.load_config()
        if method:
            config = with_section(config, "align", {"method": method})
        with progress_bar(eta=True) as progress:
            task = progress.add_task(f"align ({config.align.method})", total=None)

            def show(step: int, total: int, metrics: dict[str, float]) -> None:
                shown = ", ".join(
                    f"{k} {v:.3g}" for k, v in metrics.items() if k in ("loss", "rewards/margins")
                )
                progress.update(task, completed=step, total=total, description=f"align {shown}")

            result = align(ws, config, sft, files, resume, show, reviews)
    before, after = result.margins_before, result.margins_after
    console.print(
        f"run {result.run_id}: {result.steps} steps on {result.counts['train']} pairs "
        f"({result.counts['quarantined']} quarantined, {result.counts['val']} for validation, "
        f"{result.counts.get('held_out_for_judges', 0)} human pairs kept for judging judges)\n"
        f"chosen-over-rejected log-prob margin on the training pairs: "
        f"{before['mean_margin']:.2f} -> {after['mean_margin']:.2f} "
        f"(chosen more likely: {before['chosen_preferred']:.0%} -> {after['chosen_preferred']:.0%})"
        f"\n{result.path}/adapter"
    )


@feedback_app.command("generate")
def feedback_generate(
    model: Annotated[str, typer.Option(help="Model sampled: a run id or registry reference.")],
    k: Annotated[int | None, typer.Option(help="Candidates per prompt.")] = None,
    limit: Annotated[int | None, typer.Option(help="Prompts used at most.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Sample k answers per prompt, score them with the rubric judge, keep (best, worst) pairs."""
    from tunesmith.models.load import ModelInputError
    from tunesmith.preference.candidates import generate_pairs

    with stage_errors(ConfigError, ModelInputError, OSError):
        ws, config = workspace_and_config(workspace)
        changes = {"k": k, "limit": limit, "seed": seed}
        sampling = {
            **config.align.sampling.model_dump(),
            **{key: value for key, value in changes.items() if value is not None},
        }
        config = with_section(config, "align", {"sampling": sampling})
        sampling = config.align.sampling
        with progress_bar(eta=True) as progress:
            task = progress.add_task("sample and judge", total=None)
            result = generate_pairs(
                ws,
                config,
                model,
                on_start=lambda n: progress.update(task, total=n),
                on_prompts=lambda n: progress.advance(task, n),
            )
    c = result.counts
    console.print(
        f"{c['prompts']} prompts x {sampling.k} candidates: {c['pairs']} pairs "
        f"({c['below_margin']} prompts below the margin {sampling.margin}, {c['off_label']} "
        "with fewer than two answers on the reference label); "
        f"mean best score {result.mean_best:.3f}, worst {result.mean_worst:.3f}; "
        f"{result.compliant_share:.0%} of candidates meet the policy\n{result.path}/pairs.jsonl"
    )


@feedback_app.command("queue")
def feedback_queue(
    pairs_file: Annotated[
        Path, typer.Argument(help="Preference JSONL, e.g. preferences/ID/pairs.jsonl.")
    ],
    limit: Annotated[int | None, typer.Option(min=1, help="Pairs queued at most.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Queue pairs for reviewers to pick the better answer (blind: sides by a seeded hash)."""
    from tunesmith.review.choices import enqueue_pairs
    from tunesmith.store.audit import AuditError, audit_path
    from tunesmith.store.db import open_store

    ws = open_workspace(workspace)
    # a relative path is the workspace's when it is not the current folder's
    path = pairs_file if pairs_file.exists() or pairs_file.is_absolute() else ws.root / pairs_file
    if not path.is_file():
        raise fail(f"{path}: preference file not found")
    root, resolved = ws.root.resolve(), path.resolve()
    source = str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(resolved)
    with stage_errors(ConfigError, AuditError, OSError, UnicodeDecodeError):
        config = ws.load_config()
        result = enqueue_pairs(
            open_store(ws.state_url()),
            path,
            source,
            limit,
            config.align.seed,
            audit_log=audit_path(ws.state_dir),
        )
    c = result.counts
    console.print(
        f"{source}: {c['read']} read, {c['queued']} queued, {c['already_queued']} already "
        f"queued, {c['malformed']} malformed"
    )
    for line, reason in result.problems[:5]:
        console.print(f"  line {line}: {reason}", highlight=False, markup=False)


@feedback_app.command("agreement")
def feedback_agreement(
    pairs: Annotated[
        Path | None, typer.Option(help="Human decisions (default: the review queue's pairs).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Pairs judged at most.")] = None,
    every_pair: Annotated[
        bool, typer.Option("--all", help="Every pair, not only those align holds out.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """How often the LLM judge and the rubric agree with held-out human decisions."""
    from tunesmith.preference.agreement import human_agreement
    from tunesmith.preference.llm_judge import JudgeError
    from tunesmith.preference.pairs import PreferenceInputError
    from tunesmith.review.export import PREFERENCES_FILE

    with stage_errors(ConfigError, JudgeError, PreferenceInputError, OSError):
        ws, config = workspace_and_config(workspace)
        path = pairs or ws.root / PREFERENCES_FILE
        with progress_bar(eta=True) as progress:
            task = progress.add_task("judge human pairs", total=None)
            report = human_agreement(
                ws,
                config,
                path,
                limit,
                on_start=lambda n: progress.update(task, total=n),
                on_pair=lambda: progress.advance(task),
                every_pair=every_pair,
            )
    table = Table("judge", "pairs", "agrees", "disagrees", "ties", "agreement (decided)")
    for name, r in report["judges"].items():
        decided = r["agreement_decided"]
        table.add_row(
            name,
            str(r["pairs"]),
            f"{r['agree']:.2f}",
            f"{r['disagree']:.2f}",
            f"{r['tie']:.2f}",
            "n/a" if decided is None else f"{decided:.2f}",
        )
    console.print(table)
    console.print(report["path"])


@feedback_app.command("winrate")
def feedback_winrate(
    model: Annotated[str, typer.Argument(help="The aligned run (or registry reference).")],
    against: Annotated[
        str | None, typer.Option(help="Model compared with (default: the run's SFT parent).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Held-out prompts used at most.")] = None,
    no_judge: Annotated[
        bool, typer.Option("--no-judge", help="Rubric only; no LLM judge calls.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Win rate of a model against its parent on held-out prompts, plus policy compliance."""
    from tunesmith.models.load import ModelInputError
    from tunesmith.preference.llm_judge import JudgeError
    from tunesmith.preference.winrate import pairwise_judge, win_rate

    with stage_errors(ConfigError, ModelInputError, JudgeError, OSError):
        ws, config = workspace_and_config(workspace)
        judge = None if no_judge else pairwise_judge(config.align.judge, config.serve)
        with progress_bar() as progress:
            task = progress.add_task("win rate", total=None)
            report = win_rate(
                ws,
                config,
                model,
                against,
                judge,
                limit,
                on_step=lambda what: progress.update(task, description=what, advance=1),
            )
    console.print(Path(report["path"]).read_text())
    console.print(report["path"])
