# Sourced by scripts/test: make sure Chromium is installed (Debian package `chromium`), since
# the browser tests (tests/browser.py) drive a headless Chromium with playwright, which never
# downloads a browser of its own. Quiet and idempotent. Set CHROMIUM_INSTALL=0 to leave the
# machine alone. If it cannot be installed the suite still runs, and the browser tests fail
# saying why.

chromium_ensure() {
  if [[ -x /usr/bin/chromium ]] || command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  if [[ "${CHROMIUM_INSTALL:-1}" == "0" ]]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing and apt-get is not available: install Chromium by hand." >&2
    return 1
  fi
  local sudo=()
  if [[ "$(id -u)" != "0" ]]; then
    sudo=(sudo -n)
  fi
  echo "Installing Chromium (Debian package) for the browser tests ..."
  local status=0
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o=Dpkg::Use-Pty=0 \
    chromium >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o=Dpkg::Use-Pty=0 \
      chromium >/dev/null || status=$?
  fi
  return "$status"
}

chromium_ensure || echo "warning: could not install chromium; the browser tests will fail." >&2
