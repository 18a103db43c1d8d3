# Sourced by scripts/dev and scripts/test: create or update the virtualenv, then activate it.
# Reinstalls only when pyproject.toml or constraints.txt changed since the last install.
# The interpreter: PYTHON if set, else the newest supported one found (scripts/_python.sh).
# An existing virtualenv built with another supported Python is kept unless PYTHON asks for
# a different one. VENV names the virtualenv's folder (default .venv; CI's second one differs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/_python.sh
source "$ROOT/scripts/_python.sh"

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-}"
PYTHON_VERSION=""
PYTHON_REASON=""
SUPPORTED="$(python_supported_list)"

if [[ -n "$PYTHON" ]]; then
  PYTHON_VERSION="$(python_version_of "$PYTHON" || true)"
  if [[ -z "$PYTHON_VERSION" ]]; then
    echo "PYTHON=$PYTHON does not run. Set PYTHON to a Python $SUPPORTED interpreter." >&2
    exit 1
  fi
  if ! python_supported "$PYTHON_VERSION"; then
    echo "PYTHON=$PYTHON is Python $PYTHON_VERSION; this project supports Python $SUPPORTED." >&2
    exit 1
  fi
  PYTHON_REASON="as PYTHON asks"
fi

VENV_VERSION=""
if [[ -x "$VENV/bin/python" ]]; then
  VENV_VERSION="$(python_version_of "$VENV/bin/python" || true)"
fi

if [[ -n "$VENV_VERSION" ]] && python_supported "$VENV_VERSION" \
  && [[ -z "$PYTHON" || "$PYTHON_VERSION" == "$VENV_VERSION" ]]; then
  # Kept: rebuilding a working virtualenv is slow and surprising. Say how to move on.
  newer=""
  for version in "${SUPPORTED_PYTHONS[@]}"; do
    [[ -n "$PYTHON" || "$version" == "$VENV_VERSION" ]] && break
    if found="$(python_find "$version")"; then
      newer=" (Python $version is here too: PYTHON=$found rebuilds $VENV with it)"
      break
    fi
  done
  echo "Python $VENV_VERSION: the existing $VENV is kept$newer."
else
  if [[ -z "$PYTHON" ]]; then
    for version in "${SUPPORTED_PYTHONS[@]}"; do
      if PYTHON="$(python_find "$version")"; then
        PYTHON_VERSION="$version"
        PYTHON_REASON="the newest supported one found"
        break
      fi
    done
  fi
  if [[ -z "$PYTHON" ]]; then
    echo "No supported Python found: this project needs Python $SUPPORTED." >&2
    echo "Install one (e.g. apt install python3.13), or set PYTHON=/path/to/python3.X." >&2
    exit 1
  fi
  if [[ -e "$VENV" ]]; then
    echo "Rebuilding $VENV (Python ${VENV_VERSION:-unknown}) with Python $PYTHON_VERSION ($PYTHON, $PYTHON_REASON) ..."
    "$PYTHON" -m venv --clear "$VENV"
  else
    echo "Creating $VENV with Python $PYTHON_VERSION ($PYTHON, $PYTHON_REASON) ..."
    "$PYTHON" -m venv "$VENV"
  fi
fi

STAMP="$VENV/.installed"
WANT="$(cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  echo "Installing the project and its dependencies into $VENV ..."
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c constraints.txt -e ".[dev]"
  echo "$WANT" > "$STAMP"
fi

# shellcheck disable=SC1091
source "$VENV/bin/activate"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=backend.settings
