#!/usr/bin/env bash
# Installs what the dashboard's browser test needs: Debian's chromium and
# the npm package playwright-core (from package-lock.json). Without them the
# test skips. Safe to run more than once. Exits 0 with a message when no
# browser can be installed here (no apt-get or no root), so that CI goes on
# and the test reports its skip.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
	if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
			echo "testdata/browser/install.sh: apt-get could not install chromium; the dashboard browser test will skip"
		fi
	else
		echo "testdata/browser/install.sh: cannot install chromium here (needs apt-get and root); the dashboard browser test will skip"
	fi
fi
npm ci --no-audit --no-fund --loglevel=error
