"""The state store: SQL tables shared by serving, monitoring and review."""
