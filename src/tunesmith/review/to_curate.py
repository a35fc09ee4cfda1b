"""Reviewed records into a dataset version: the one rule `curate --with-feedback` and the
loop's curate step share.

Both first write the export (`export.export_feedback`); curation then adds the records of
`feedback/reviewed.jsonl` with `monitor.feedback_eval_share` of the new ones held out as the
`feedback` split. The loop keeps the two apart as steps, so a crash between them reruns only
the one that did not finish.
"""

from __future__ import annotations

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import CurateResult, FeedbackInput, Progress, curate
from tunesmith.review.export import REVIEWED_FILE


def curate_reviewed(
    ws: Workspace, config: ProjectConfig, progress: Progress | None = None
) -> CurateResult:
    """Curate the configured sources plus the last export of reviewed records."""
    feedback = FeedbackInput(REVIEWED_FILE, config.monitor.feedback_eval_share)
    return curate(ws, config.data, progress=progress, feedback=feedback)
