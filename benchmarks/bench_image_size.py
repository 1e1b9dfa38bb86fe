"""Cost against image size: ms per image per network call, side by side, in one run.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_image_size.py [--threads 1]
        [--batch-size 4] [--repeats 3] [--json results/bench_image_size.json]

Rows (random weights: the cost does not depend on them):

* ``unet``: our U-Net with the shipped MNIST architecture (channels 32,64,96, one block per level,
  patch stem 2, attention at the lowest resolution), its shape taken from the data as
  ``denoisebench train`` does, run as the provider runs it (channels-last, inference mode), at
  1 x 28 x 28, 3 x 32 x 32 and 3 x 64 x 64;
* ``unet-colour``: the configuration recommended for ``skimage-patches-32`` (channels 64,128,192,
  two blocks per level), at 3 x 32 x 32 and 3 x 64 x 64;
* ``kbnet``: the shipped MNIST KBNet_s architecture (width 16, blocks (0,1,2) / 2 / (1,1,0),
  8 bases), channels from the data, at the same three shapes;
* ``kbnet-official``: the official KBNet_s of ``gau_color_*`` (width 64, 12 middle blocks,
  encoders 2,2,4,8, 32 bases, 3 channels), at 3 x 32 x 32;
* ``ddpm-cifar10``: diffusers' ``UNet2DModel`` with the configuration of google/ddpm-cifar10-32
  (block_out_channels 128,256,256,256, layers_per_block 2, attention in the second block, i.e. at
  16 x 16; DownBlock2D/AttnDownBlock2D/DownBlock2D/DownBlock2D, norm 32 groups, eps 1e-6,
  freq_shift 1, no sin/cos flip, downsample padding 0), at 3 x 32 x 32: the peer the field
  trains on CIFAR-10 (35.7 M parameters in Ho et al. 2020).

Each row: parameters, GFLOPs per image per call (torch.utils.flop_counter), and the median over
``--repeats`` timed calls of one batch of ``--batch-size`` images after one warm-up call, divided
by the batch size. Also the time of one training step of ``unet-colour`` at 3 x 32 x 32 (batch
``--batch-size``, AdamW, forward + backward), the number the recommended training command is
sized by.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]
#: Recommended for skimage-patches-32 (see docs/providers.md).
COLOUR_UNET = {"channels": (64, 128, 192), "blocks": 2}


def ddpm_cifar10_unet() -> nn.Module:
    """diffusers' UNet2DModel with google/ddpm-cifar10-32's configuration."""
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=32, in_channels=3, out_channels=3, layers_per_block=2,
        block_out_channels=(128, 256, 256, 256),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=32, norm_eps=1e-6, act_fn="silu", attention_head_dim=None, center_input_sample=False,
        downsample_padding=0, flip_sin_to_cos=False, freq_shift=1, mid_block_scale_factor=1,
        time_embedding_type="positional")


def our_unet(shape: tuple[int, int, int], **fields: object) -> nn.Module:
    from denoisebench.providers.unet import UNet, UNetConfig, UNetRecipe

    config = UNetRecipe.config_for_data(UNetConfig(**fields), shape, set())  # type: ignore[arg-type]
    return UNet(config).to(memory_format=torch.channels_last).eval()


def our_kbnet(shape: tuple[int, int, int], official: bool = False) -> nn.Module:
    import dataclasses

    from denoisebench.providers.kbnet.arch import KBNetConfig, KBNetS, official_gray_config

    config = official_gray_config() if official else KBNetConfig()
    return KBNetS(dataclasses.replace(config, img_channel=shape[0])).eval()


def call_of(name: str, net: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if name.startswith("ddpm"):
        return lambda x, t: net(x, t).sample
    if name.startswith("kbnet"):
        return lambda x, t: net(x)
    return lambda x, t: net(x, t)


def measure(name: str, net: nn.Module, shape: tuple[int, int, int], batch: int, repeats: int) -> dict[str, object]:
    call = call_of(name, net)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *shape, generator=g)
    t = torch.randint(1, 1000, (batch,), generator=g)
    with torch.inference_mode():
        with FlopCounterMode(display=False) as counter:
            call(x[:1], t[:1])
        call(x, t)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call(x, t)
            times.append(time.perf_counter() - start)
    return {"model": name, "shape": "x".join(map(str, shape)), "pixels": shape[0] * shape[1] * shape[2],
            "params_M": sum(p.numel() for p in net.parameters()) / 1e6,
            "gflops_per_image": counter.get_total_flops() / 1e9,
            "ms_per_image": 1e3 * statistics.median(times) / batch}


def train_step_seconds(batch: int, repeats: int) -> float:
    """One AdamW step (forward + backward) of the recommended colour U-Net at 3 x 32 x 32."""
    from denoisebench.diffusion.schedule import make_schedule
    from denoisebench.providers.unet import UNetConfig, UNetRecipe

    recipe = UNetRecipe(UNetRecipe.config_for_data(UNetConfig(**COLOUR_UNET), (3, 32, 32), set()))  # type: ignore[arg-type]
    model = recipe.build_model().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    schedule = make_schedule("linear", 1000)
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(batch, 3, 32, 32, generator=g) * 2 - 1
    times = []
    for i in range(repeats + 1):
        draw = recipe.draw(x0, g, schedule)
        start = time.perf_counter()
        loss = recipe.training_loss(model, draw, schedule)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-official-kbnet", action="store_true", help="leave out the 142 M-parameter KBNet_s")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for shape in SHAPES:
        rows.append(measure("unet", our_unet(shape), shape, args.batch_size, args.repeats))
    for shape in SHAPES[1:]:
        rows.append(measure("unet-colour", our_unet(shape, **COLOUR_UNET), shape, args.batch_size, args.repeats))
    for shape in SHAPES:
        rows.append(measure("kbnet", our_kbnet(shape), shape, args.batch_size, args.repeats))
    if not args.skip_official_kbnet:
        rows.append(measure("kbnet-official", our_kbnet((3, 32, 32), official=True), (3, 32, 32), args.batch_size,
                            args.repeats))
    rows.append(measure("ddpm-cifar10", ddpm_cifar10_unet().eval(), (3, 32, 32), args.batch_size, args.repeats))
    step = train_step_seconds(args.batch_size, args.repeats)
    print(f"{'model':<15} {'C x H x W':<9} {'params M':>9} {'GFLOP/img':>10} {'ms/img/call':>12}")
    for r in rows:
        print(f"{r['model']:<15} {r['shape']:<9} {r['params_M']:>9.2f} {r['gflops_per_image']:>10.3f} "
              f"{r['ms_per_image']:>12.2f}")
    print(f"threads {args.threads}, batch {args.batch_size}, median of {args.repeats}; torch {torch.__version__}")
    print(f"unet-colour training step, 3 x 32 x 32, batch {args.batch_size}: {step:.3f} s "
          f"({step / args.batch_size * 1e3:.1f} ms per image)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "threads": args.threads, "batch_size": args.batch_size,
                                         "repeats": args.repeats, "train_step_s": step,
                                         "train_step_batch": args.batch_size}, indent=2) + "\n")


if __name__ == "__main__":
    main()
