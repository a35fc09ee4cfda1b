"""Monitor stage: a window of production per model, its statistics and drift against what the
model was trained on, the report, and the review items it opens (`tunesmith monitor`)."""
