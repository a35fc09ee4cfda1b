"""Memory of served models: each end user's earlier turns (episodes) and facts, scoped to
(tenant, user), masked, embedded, retrieved into the prompt, expired and forgotten."""
