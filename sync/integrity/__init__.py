"""Integrity of the ratings: exclusions, fraud signals (and receipts and limits)."""
