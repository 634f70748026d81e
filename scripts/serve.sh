#!/usr/bin/env bash
# Set up, load the demo campaign into the embedded SQLite store and serve it with gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://localhost:8000}
# Without SECRET_KEY the first command makes a random key in instance/secret_key (mode 0600);
# the workers and every later start reuse it, so printed links keep working.
.venv/bin/collector demo
exec .venv/bin/gunicorn --workers "${WORKERS:-2}" --bind "${BIND:-0.0.0.0:8000}" \
  --access-logfile - 'collector:create_app()'
