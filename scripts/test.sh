#!/bin/sh
# `npm test`: dependencies, promtool, build, typecheck, then every test file with node --test.
set -e
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
# RivetKit 2.3.19, apart from Troupe's own dependencies: the real-client protocol tests run against it.
sh bench/peer/setup.sh
if [ -f scripts/ensure-promtool.sh ]; then bash scripts/ensure-promtool.sh; fi
npm run --silent build
npm run --silent typecheck
export TROUPE_LOG_LEVEL="${TROUPE_LOG_LEVEL:-silent}"
# Every log the suite writes lands here; the last test greps it for secrets.
TROUPE_TEST_LOG_DIR=$(mktemp -d -t troupe-test-logs-XXXXXX)
export TROUPE_TEST_LOG_DIR
trap 'rm -rf "$TROUPE_TEST_LOG_DIR"' EXIT
files=$(ls test/*.test.ts | grep -v 'test/zz-')
# One file at a time, so the secrets grep (zz-) runs after everything else.
node --import tsx --test --test-concurrency=1 --test-reporter=spec $files test/zz-no-secrets-anywhere.test.ts
