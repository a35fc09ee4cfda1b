"""Curation: raw records into clean, PII-masked, deduplicated ChatML dataset versions."""
