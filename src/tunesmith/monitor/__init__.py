"""Monitor stage: drift in what the served model sees, compared with what it was trained on."""
