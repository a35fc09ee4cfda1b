"""tunesmith: turn an organisation's own records into a specialised small language model."""

__version__ = "0.1.0"
