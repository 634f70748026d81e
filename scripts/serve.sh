#!/usr/bin/env bash
# Set up, load the demo campaign into the embedded SQLite store and serve it with gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${PUBLIC_BASE_URL:-}" ]; then
  # Phones on the same Wi-Fi reach this machine by its LAN address, never by "localhost".
  lan=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')
  [ -n "$lan" ] || lan=$(hostname -I 2>/dev/null | awk '{print $1}')
  export PUBLIC_BASE_URL="http://${lan:-localhost}:8000"
  echo "links and QR codes use $PUBLIC_BASE_URL (set PUBLIC_BASE_URL=http://<address>:8000 to change)"
fi
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://localhost:8000}
# Without SECRET_KEY the first command makes a random key in instance/secret_key (mode 0600);
# the workers and every later start reuse it, so printed links keep working.
.venv/bin/collector demo
# gthread: a long CSV download keeps one thread busy while the worker still heartbeats (a sync
# worker is killed by the 30 s timeout mid-download), and SQLite writers queue on a file lock.
exec .venv/bin/gunicorn --workers "${WORKERS:-2}" --worker-class gthread --threads "${THREADS:-4}" \
  --bind "${BIND:-0.0.0.0:8000}" --access-logfile - 'collector:create_app()'
