"""Trust rules for ratings: form receipts and late uploads, repeat devices."""
