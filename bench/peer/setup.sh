#!/bin/sh
# Installs RivetKit 2.3.19, @rivetkit/react, React, react-dom and jsdom into bench/peer, apart from
# Troupe's own dependencies. Does nothing when all are there and the install matches the lock.
set -e
cd "$(dirname "$0")"
stale=
for pkg in rivetkit @rivetkit/react react react-dom jsdom; do
  [ -f "node_modules/$pkg/package.json" ] || stale=1
done
# npm writes node_modules/.package-lock.json last: an older one predates package.json or the lock.
for f in package.json package-lock.json; do
  [ node_modules/.package-lock.json -nt "$f" ] || stale=1
done
if [ -n "$stale" ]; then npm install --no-audit --no-fund --loglevel=error >/dev/null; fi
