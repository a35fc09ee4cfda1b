"""Preference stage: preference pairs from review and AI feedback, the judges that make them."""
