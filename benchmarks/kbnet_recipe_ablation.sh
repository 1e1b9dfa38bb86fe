#!/usr/bin/env bash
# Training-recipe ablation of the blind KBNet: each named variant is trained by the project's own
# `denoisebench train --provider kbnet` (same network, seed and data; only the listed options
# differ) and then sampled with 50-step DDIM (eta 0 and 1) and, if BIG > 0, BIG-step ancestral
# DDPM, 1,000 samples each, every run scored by the harness. Variants run in parallel.
#
#   benchmarks/kbnet_recipe_ablation.sh OUTDIR VARIANT...      (variants: see `options` below)
#   denoisebench report --results-dir OUTDIR/runs               (the comparison table)
#
# Environment: DEVICE (cpu), STEPS (LR horizon, 5500), MINUTES (wall cap of each training, 60),
# N (samples, 1000), BIG (DDPM steps, 1000; 0 skips). results/reference/kbnet-recipe/ was made on
# one H200 with DEVICE=cuda: gpu-1 = `STEPS=5500 MINUTES=5 ... base sched sched-lr2 sched-eps
# pc-sched pc-edm long-sched` (every training was stopped by the 5-minute cap at 1,100-2,800
# steps, before its LR had annealed; the lease ended before the DDPM runs), gpu-2 =
# `STEPS=2000 BIG=0 ... sched-lr2 pc-sched-lr2` (complete LR schedules, equal steps).
set -euo pipefail
out=${1:?usage: $0 OUTDIR VARIANT...}; shift
DEVICE=${DEVICE:-cpu}; STEPS=${STEPS:-5500}; MINUTES=${MINUTES:-60}; N=${N:-1000}; BIG=${BIG:-1000}
DB=${DB:-denoisebench}
options() {  # every choice spelled out, so a variant does not move with the train defaults
  local x="-m loss=l2 -m sigma_min=0.002 -m sigma_max=80" x0="-m loss_weight=x0"
  case "$1" in
    base)         echo "$x $x0 --batch-size 128 --lr 1e-3 -m sigma_dist=loguniform -m precond=none" ;;
    sched)        echo "$x $x0 --batch-size 128 --lr 1e-3 -m sigma_dist=schedule -m precond=none" ;;
    sched-lr2)    echo "$x $x0 --batch-size 128 --lr 2e-3 -m sigma_dist=schedule -m precond=none" ;;
    sched-eps)    echo "$x -m loss_weight=edm --batch-size 128 --lr 1e-3 -m sigma_dist=schedule -m precond=none" ;;
    pc-sched)     echo "$x $x0 --batch-size 128 --lr 1e-3 -m sigma_dist=schedule -m precond=edm" ;;
    pc-sched-lr2) echo "$x $x0 --batch-size 128 --lr 2e-3 -m sigma_dist=schedule -m precond=edm" ;;
    pc-edm)       echo "$x -m loss_weight=edm --batch-size 128 --lr 1e-3 -m sigma_dist=lognormal -m sigma_mean=-1.9 -m sigma_std=1.2 -m precond=edm" ;;
    long-sched)   echo "$x $x0 --batch-size 512 --lr 2e-3 -m sigma_dist=schedule -m precond=none" ;;
    *) echo "unknown variant '$1': see options() in $0" >&2; return 2 ;;
  esac
}
for v in "$@"; do options "$v" >/dev/null; done
mkdir -p "$out/runs"
variant() {
  local v=$1
  # shellcheck disable=SC2046
  $DB train -p kbnet --device "$DEVICE" --steps "$STEPS" --minutes "$MINUTES" --seed 0 --eval-every 0 \
    --log-every 250 --output "$out/$v.safetensors" $(options "$v") > "$out/$v.train.log" 2>&1
  run() { $DB run -p kbnet --checkpoint "$out/$v.safetensors" --device "$DEVICE" -n "$N" --batch-size "$N" \
            --seed 0 --results-dir "$out/runs" "$@" >> "$out/$v.sample.log" 2>&1; }
  run --sampler ddim --steps 50
  run --sampler ddim --steps 50 --eta 1
  if [ "$BIG" -gt 0 ]; then run --sampler ddpm --steps "$BIG"; fi
  echo "$v: done"
}
for v in "$@"; do variant "$v" & done
wait
