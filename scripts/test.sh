#!/bin/sh
# `npm test`: dependencies, promtool, build, typecheck, then every test file with node --test.
set -e
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
if [ -f scripts/ensure-promtool.sh ]; then bash scripts/ensure-promtool.sh; fi
npm run --silent build
npm run --silent typecheck
export TROUPE_LOG_LEVEL="${TROUPE_LOG_LEVEL:-silent}"
exec node --import tsx --test --test-reporter=spec test/*.test.ts
