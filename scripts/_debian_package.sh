# Sourced by scripts/test: `debian_package_ensure <command> <package> <what for> <opt-out var>`
# installs a Debian package when its command is missing, for tests that run the real program
# (PgBouncer, Chromium…). Quiet and idempotent; `sudo -n` only when not root; never starts a
# system service (policy-rc.d). Setting the opt-out variable to 0 leaves the machine alone. If
# the package cannot be installed the suite still runs, and the tests that need it fail saying
# why: they never skip.

debian_package_ensure() {
  local command="$1" package="$2" purpose="$3" opt_out="$4"
  if command -v "$command" >/dev/null 2>&1 || [[ -x "/usr/sbin/$command" ]] \
    || [[ -x "/usr/bin/$command" ]]; then
    return 0
  fi
  if [[ "${!opt_out:-1}" == "0" ]]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$package is missing and apt-get is not available: install it by hand." >&2
    return 1
  fi
  local sudo=()
  if [[ "$(id -u)" != "0" ]]; then
    sudo=(sudo -n)
  fi
  echo "Installing $package (Debian package) for $purpose ..."
  # policy-rc.d exit 101: the package must not start (or enable) its system service.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    created_policy=1
  fi
  local status=0
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o=Dpkg::Use-Pty=0 \
    "$package" >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o=Dpkg::Use-Pty=0 \
      "$package" >/dev/null || status=$?
  fi
  if [[ "$created_policy" == "1" ]]; then
    "${sudo[@]}" rm -f "$policy"
  fi
  if [[ "$status" != "0" ]]; then
    echo "warning: could not install $package; the tests that need it will fail." >&2
  fi
  return 0
}
