#!/usr/bin/env bash
# Install the Debian packages the app and its tests need, when missing:
# Pango and a CJK font for WeasyPrint, poppler-utils for PDF checks, chromium for browser tests,
# ffmpeg for the device simulator's HLS test streams.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk poppler-utils chromium ffmpeg)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: please run 'sudo apt-get install ${missing[*]}'" >&2
  exit 1
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
