#!/usr/bin/env bash
# Installs Debian's `prometheus` package (for promtool and the server used by the e2e tests)
# when promtool is missing. Idempotent and quiet when it is already there.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "promtool is missing and this user cannot install packages: run 'apt-get install prometheus' as root" >&2
    exit 1
  fi
fi
echo "troupe: installing Debian's prometheus package for promtool..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package starts a server on :9090 on systems with an init; the tests start their own.
if command -v service >/dev/null 2>&1; then $SUDO service prometheus stop >/dev/null 2>&1 || true; fi
command -v promtool >/dev/null 2>&1 || { echo "promtool still missing after installing prometheus" >&2; exit 1; }
