# Sourced by scripts/test: make sure the PgBouncer binary is installed (Debian package), since
# the pooling tests start their own PgBouncer processes. Quiet and idempotent; never starts
# the system service. Set PGBOUNCER_INSTALL=0 to leave the machine alone. If it cannot be
# installed the suite still runs, and the pooling tests fail saying why.

pgbouncer_ensure() {
  if command -v pgbouncer >/dev/null 2>&1 || [[ -x /usr/sbin/pgbouncer ]]; then
    return 0
  fi
  if [[ "${PGBOUNCER_INSTALL:-1}" == "0" ]]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "pgbouncer is missing and apt-get is not available: install PgBouncer by hand." >&2
    return 1
  fi
  local sudo=()
  if [[ "$(id -u)" != "0" ]]; then
    sudo=(sudo -n)
  fi
  echo "Installing PgBouncer (Debian package) for the connection-pooling tests ..."
  # policy-rc.d exit 101: the package must not start (or enable) its system service.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    created_policy=1
  fi
  local status=0
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o=Dpkg::Use-Pty=0 \
    pgbouncer >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o=Dpkg::Use-Pty=0 \
      pgbouncer >/dev/null || status=$?
  fi
  if [[ "$created_policy" == "1" ]]; then
    "${sudo[@]}" rm -f "$policy"
  fi
  return "$status"
}

pgbouncer_ensure || echo "warning: could not install pgbouncer; the pooling tests will fail." >&2
