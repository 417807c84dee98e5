#!/usr/bin/env bash
# The browser the browser tests drive (tests/browser): Debian's or Ubuntu's `chromium` package, found on the PATH
# or at ADVLAB_CHROMIUM. Playwright's own browser download is not used (it needs a host this course may not reach).
# Installs it with apt-get when run as root on a Debian-like system; otherwise says how, and the browser tests skip.
set -uo pipefail
found() { command -v "$1" 2>/dev/null; }
for candidate in "${ADVLAB_CHROMIUM:-}" chromium chromium-browser google-chrome; do
  [ -n "$candidate" ] || continue
  if path=$(found "$candidate"); then echo "browser tests: Chromium at $path"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser tests: installing Debian's chromium package (apt-get) ..."
  start=$(date +%s)
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium fonts-dejavu-core >/dev/null); then
    echo "browser tests: Chromium installed in $(( $(date +%s) - start )) s: $(command -v chromium)"
    exit 0
  fi
  echo "browser tests: apt-get could not install chromium; the browser tests will be skipped" >&2
  exit 0
fi
echo "browser tests: no Chromium found, and installing one needs root and apt-get. The browser tests will be" \
     "skipped. Install it (Debian/Ubuntu: sudo apt-get install chromium) or point ADVLAB_CHROMIUM at a" \
     "Chromium or Chrome executable." >&2
exit 0
