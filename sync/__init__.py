"""The central store: schema, validation, dedupe and merge. A plain library: no Flask imports."""
