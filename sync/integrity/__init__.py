"""Integrity of the ratings: exclusions, fraud signals, form receipts and late uploads,
repeat devices (and limits)."""
