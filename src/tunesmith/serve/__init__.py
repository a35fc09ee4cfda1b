"""OpenAI-compatible serving of the base model and its adapters."""
