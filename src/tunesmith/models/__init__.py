"""Base models: resolve, import and cache the model a workspace fine-tunes."""
