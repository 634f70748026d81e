#!/usr/bin/env bash
# Set up everything the suite needs, then run the whole suite on SQLite and on PostgreSQL.
# Fails if PostgreSQL cannot be reached: the second leg is never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh
export PGPASSWORD=${PGPASSWORD:-postgres}
PG_URL=${TEST_PG_URL:-postgresql://postgres:postgres@127.0.0.1:5432/test}

status=0
echo "=== suite on SQLite"
.venv/bin/python -m pytest "$@" || status=1
echo "=== suite on PostgreSQL ($PG_URL)"
TEST_DATABASE_URL=$PG_URL .venv/bin/python -m pytest "$@" || status=1
exit $status
