"""Figures: generated images beside their nearest training images, and the forward noising; grey
images are drawn in grey levels, colour images (N x H x W x 3) in colour.

``save_run_figures`` is called by ``run`` for every run directory (``grid.png`` is written by the
core); ``forward_figure`` backs ``denoisebench figure forward``. Both are drawn with matplotlib's
Agg backend and written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..datasets.base import ImageDataset
from ..fileio import atomic_path

NEAREST_FILE = "nearest.png"
NEAREST_COUNT = 16


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 110) -> None:  # type: ignore[no-untyped-def]
    """Write a matplotlib figure as PNG, atomically (:func:`denoisebench.fileio.atomic_path`)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", facecolor="white", format="png")


def show_image(ax, img: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Draw one uint8 image (H x W, H x W x 1 or H x W x 3) on ``ax``: grey in grey levels, colour as RGB."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        ax.imshow(img, cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(img)


def nearest_figure(path: Path, images: np.ndarray, train: np.ndarray, count: int = NEAREST_COUNT,
                   per_row: int = 8) -> None:
    """The first ``count`` samples (top of each pair) above their nearest training image.

    Under each pair: d1 (RMS pixel distance) and d1/d2; memorised pairs (d1/d2 < 1/3) in red.
    """
    from ..metrics.nearest import MEMORISED_BELOW, nearest_train

    plt = _pyplot()
    images = images[:count]
    nb = nearest_train(images, train)
    rows = int(np.ceil(len(images) / per_row))
    fig, axes = plt.subplots(2 * rows, per_row, figsize=(1.2 * per_row, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, img in enumerate(images):
        r, c = divmod(i, per_row)
        top, bottom = axes[2 * r, c], axes[2 * r + 1, c]
        show_image(top, img)
        show_image(bottom, train[nb.index[i, 0]])
        ratio = float(nb.ratio[i])
        bottom.set_title(f"d={nb.distance[i, 0]:.3f}\nr={ratio:.2f}", fontsize=7, y=-0.42,
                         color="red" if ratio < MEMORISED_BELOW else "black")
    height, width = images.shape[1], images.shape[2]
    x, y = -4 * width / 28, height / 2  # beside the first column, whatever the image size
    for r in range(rows):
        axes[2 * r, 0].text(x, y, "sample", rotation=90, va="center", ha="right", fontsize=7)
        axes[2 * r + 1, 0].text(x, y, "nearest\ntrain", rotation=90, va="center", ha="right", fontsize=7)
    fig.suptitle("generated (top) and nearest training image (below); d = RMS pixel distance, "
                 "r = d1/d2, red: r < 1/3", fontsize=8)
    fig.subplots_adjust(hspace=0.55, wspace=0.08)
    save_figure(fig, path)
    plt.close(fig)


def save_run_figures(run_dir: Path, images: np.ndarray, dataset: ImageDataset) -> list[Path]:
    """Write the run's figures (``nearest.png``) into ``run_dir``; returns their paths."""
    path = Path(run_dir) / NEAREST_FILE
    nearest_figure(path, images, dataset.train_images)
    return [path]


DEFAULT_TIMESTEPS = (0, 25, 50, 100, 200, 300, 500, 700, 1000)


def forward_figure(path: Path, dataset: ImageDataset, *, count: int = 5,
                   timesteps: Sequence[int] = DEFAULT_TIMESTEPS, schedule: str = "linear", T: int = 1000,  # noqa: N803
                   seed: int = 0) -> Path:
    """Rows: ``count`` held-out digits; columns: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps over t.

    One noise draw per digit (fixed by ``seed``) is shared by all t, so the columns show the same
    trajectory of the closed-form forward process. Values are shown clipped to [-1, 1].
    """
    import torch

    from ..errors import DenoisebenchError
    from ..diffusion.forward import q_sample
    from ..diffusion.schedule import make_schedule

    sched = make_schedule(schedule, T)
    bad = [t for t in timesteps if not 0 <= t <= sched.T]
    if bad:
        raise DenoisebenchError(f"timestep {bad[0]} is outside 0..{sched.T}: pick t in that range")
    if count < 1:
        raise DenoisebenchError("--count must be at least 1")
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(dataset.heldout_images), generator=gen)[:count].numpy()
    x0 = dataset.heldout_tensor()[np.sort(pick)]
    eps = torch.randn(x0.shape, generator=gen, dtype=x0.dtype)
    plt = _pyplot()
    fig, axes = plt.subplots(len(x0), len(timesteps), figsize=(1.1 * len(timesteps), 1.15 * len(x0) + 0.5),
                             squeeze=False)
    for j, t in enumerate(timesteps):
        xt = q_sample(x0, torch.full((len(x0),), t, dtype=torch.long), sched, noise=eps)
        ab = float(sched.alpha_bars[t])
        axes[0, j].set_title(f"t={t}\nabar={ab:.3g}", fontsize=7)
        for i in range(len(x0)):
            if xt.shape[1] == 1:
                axes[i, j].imshow(xt[i, 0].numpy(), cmap="gray", vmin=-1, vmax=1)
            else:  # colour: [-1, 1] -> [0, 1], channels last
                axes[i, j].imshow(((xt[i].permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy())
            axes[i, j].set_axis_off()
    fig.suptitle(f"forward noising, {schedule} schedule (T={sched.T}): "
                 "x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps", fontsize=8)
    save_figure(fig, Path(path))
    plt.close(fig)
    return Path(path)
