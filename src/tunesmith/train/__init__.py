"""Supervised fine-tuning of a base model on a dataset version."""
