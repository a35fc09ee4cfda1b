"""OpenAI-compatible serving of the base model and its adapters: continuous batching, the
catalogue of served models, capture of every call, and the review page's routes."""
