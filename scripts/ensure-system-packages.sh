#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing (PostgreSQL server).
# Needs root for apt-get; without root it says what is missing and leaves it to the tests to skip
# (outside CI) or fail (CI=true).
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
for extra in "$@"; do
  case "$extra" in
    chromium) [ -x /usr/bin/chromium ] || need+=(chromium) ;;
    *) dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra") ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root: apt-get install ${need[*]})" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
