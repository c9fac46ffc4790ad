#!/usr/bin/env bash
# Create benchmarks/.peers-venv (git-ignored) with the peer packages that
# benchmarks/bench_modified_equation.py compares bea against. The peers never go
# into the main .venv. Usage: bash benchmarks/peers_env.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.peers-venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# BSeries 0.1 (Ketcheson) and kauri 2.3.0 are the measured peers. sympy/numpy come in as
# their dependencies. pybs (0.1, the only version pip resolves) is Python-2 code and
# cannot be imported on Python 3; it is installed only so that the benchmark can say so.
"$venv/bin/python" -m pip install --quiet "BSeries==0.1" "kauri==2.3.0"
"$venv/bin/python" -m pip install --quiet pybs || echo "pybs: install failed (optional)"
"$venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(bseries|kauri|pybs|sympy|numpy) '
