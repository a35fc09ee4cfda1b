"""Curation: raw records into clean, PII-masked, deduplicated ChatML dataset versions (reviewed
records joining them), `data scan`, and a split's rows as a model is asked them."""
