#!/bin/sh
# Installs node_modules on a fresh clone (or after the lock file changed), so `npm start`
# and `npm test` are the only commands a newcomer needs.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.troupe-deps-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "troupe: installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
