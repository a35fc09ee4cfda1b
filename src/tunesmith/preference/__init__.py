"""Preference stage: preference pairs (read, checked, split), AI-feedback candidates, the
judges that make and check them (rubric, second rubric, LLM judge, agreement) and win rates."""
