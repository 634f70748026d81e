"""Exports: tables as CSV (streamed) and XLSX (built by background jobs), safe from formula
injection.

* `table`     — the Table type, `neutralise` (CSV formula guard), row counting;
* `responses` — the responses table, paged by keyset, formatted by the store;
* `tables`    — the tallies and rankings tables;
* `csv`, `xlsx` — the writers;
* `models`, `jobs`, `kinds`, `files` — export jobs: the row, the runner, what a job builds and
  where its finished file is kept (in the database, so any host can serve it).

Import from the submodules; this package imports nothing itself (sync.models imports
`models` while it is being defined).
"""
