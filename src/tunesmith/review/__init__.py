"""Human review: the review queue and pairwise choices in the state store, their leases, the
corrected-answer rule the page and the terminal share, the terminal sessions, and reviewed
records exported as training records and preference pairs (and curated with `to_curate`)."""
