"""The state layer: the SQL state store (interactions, reviews, choices, API keys, leases), the
hash-chained audit log, MLflow tracking, the authenticated actor, and the file helpers every
stage writes with (sha256, atomic writes, JSON/JSONL, one time format). It imports only config.
"""
