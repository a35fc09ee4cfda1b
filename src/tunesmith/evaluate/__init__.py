"""Evaluation: task metrics, the prompt-versus-fine-tune comparison, slices and gates."""
