#!/bin/sh
# Installs RivetKit 2.3.19 into bench/peer, apart from Troupe's own dependencies.
set -e
cd "$(dirname "$0")"
if [ ! -d node_modules/rivetkit ]; then npm install --no-audit --no-fund --loglevel=error; fi
