#!/usr/bin/env bash
# Install and start what the tests need from Debian when the machine lacks it: Chromium (browser
# tests), poppler-utils and a CJK font (posters), libzbar0 (QR decoding), PostgreSQL and Redis.
set -euo pipefail
# apt-get waits up to 10 minutes for the dpkg lock (a fresh machine runs unattended-upgrades).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
# (grep without -q reads all its input: with pipefail, -q's early exit fails the pipeline)
fc-list 2>/dev/null | grep -i "wenquanyi\|wqy" >/dev/null || need+=(fonts-wqy-zenhei)
ldconfig -p | grep libzbar.so >/dev/null || need+=(libzbar0)
ldconfig -p | grep libcairo.so.2 >/dev/null || need+=(libcairo2)  # cairosvg renders SVG QR codes in tests
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
pg_up || command -v pg_ctlcluster >/dev/null || need+=(postgresql)
redis_up || command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi

if ! pg_up; then
  version=$(ls /etc/postgresql | sort -n | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  # A fresh Debian cluster asks for passwords on TCP: give postgres a known local one.
  as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
fi
if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d test -qc 'SELECT 1' >/dev/null 2>&1; then
  PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
fi
if ! redis_up; then
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis_up && break; sleep 1; done
fi
# axe-core (npm) for the accessibility tests, cached outside the repository (tests/browser/axe.py).
AXE_CACHE=${AXE_CACHE:-$HOME/.cache/pingyi-axe}
if [ ! -f "$AXE_CACHE/node_modules/axe-core/axe.min.js" ]; then
  command -v npm >/dev/null || { as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq npm >/dev/null; }
  npm install --silent --no-audit --no-fund --prefix "$AXE_CACHE" axe-core@4
fi
