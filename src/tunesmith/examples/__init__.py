"""Bundled examples: the support-ticket workspace and its deterministic generators, the
new-product tickets of the drift checks, and the scaffold `tunesmith init` copies."""
