# Sourced by scripts/_bootstrap.sh and .ci/python-subset: which Pythons this project supports,
# and where to find one. Keep SUPPORTED_PYTHONS in step with requires-python in pyproject.toml.
SUPPORTED_PYTHONS=(3.13 3.12 3.11)  # newest first: the bootstrap takes the first one found

# "3.13" for an interpreter that runs, nothing (and a failure) for one that does not (a pyenv
# shim of a version that is installed but not selected fails here, and is passed over).
python_version_of() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

python_supported() {
  local version
  for version in "${SUPPORTED_PYTHONS[@]}"; do
    [[ "$1" == "$version" ]] && return 0
  done
  return 1
}

# A command that runs Python $1 (e.g. 3.12): python3.12, python3 if it is that version, or
# pyenv's installed build of it (its shims answer only for the selected versions).
python_find() {
  local want="$1" candidate
  local candidates=("python$want" python3)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/"$want".*/bin/"python$want")
  fi
  for candidate in "${candidates[@]}"; do
    if [[ "$(python_version_of "$candidate")" == "$want" ]]; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

python_supported_list() {
  local IFS=,
  echo "${SUPPORTED_PYTHONS[*]}" | sed 's/,/, /g'
}
