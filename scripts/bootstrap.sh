#!/usr/bin/env bash
# Create .venv with Python >= 3.12 (Mesa 3.5 needs it) and install the project with every extra (test, viz, dask).
# Usage: bash scripts/bootstrap.sh        (idempotent; re-run after changing pyproject.toml)
set -euo pipefail
cd "$(dirname "$0")/.."

ok() { "$@" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  for cand in python3.13 python3.12 python3; do
    if command -v "$cand" >/dev/null 2>&1 && ok "$cand"; then echo "$cand"; return; fi
  done
  # pyenv shims fail unless a version is selected: ask pyenv for an installed 3.12+.
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])' | sort -V -r); do
      if PYENV_VERSION="$v" ok python3; then echo "PYENV_VERSION=$v python3"; return; fi
    done
  fi
  return 1
}

if [ ! -x .venv/bin/python ] || ! ok .venv/bin/python; then
  py=$(find_python) || { echo "bootstrap: no Python 3.12+ found (install one, e.g. with pyenv)" >&2; exit 1; }
  echo "bootstrap: creating .venv with: $py"
  rm -rf .venv
  env $py -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,viz,dask]"
echo "bootstrap: ready ($(.venv/bin/python --version))"
