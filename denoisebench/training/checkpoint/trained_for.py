"""What data a checkpoint was trained for, and the check that a run's dataset fits it.

``denoisebench train`` writes ``dataset``, ``dataset_hash`` and ``image_shape`` (JSON [C, H, W])
into every checkpoint's metadata (:func:`metadata_for`). Before sampling, a provider built from a
checkpoint calls :func:`check_trained_for`:

* another image shape (C x H x W): a one-line error naming both shapes and the command that
  trains a checkpoint for the run's dataset;
* the same shape but another dataset (id or content hash): a warning, which the provider records
  in run.json (``provider.info.warnings``) and prints on stderr.

**Documented default for older files**: checkpoints written by ``denoisebench train`` before the
image shape was recorded (the shipped ``denoisebench/weights/*-mnist-5k`` files among them) were
trained on 28 x 28 grey digits, the only data of that version: a checkpoint that records a
``dataset`` but no ``image_shape`` is taken as 1 x 28 x 28 (all of them are ``mnist-5k``). Files
that record no dataset (a network's official release, a bare state dict with a model config) are
checked only against what their architecture fixes (the U-Net's configured shape, KBNet's channel
count), by the provider.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ...errors import DenoisebenchError

#: What a trainer checkpoint without ``image_shape`` was trained on (see the module docstring).
LEGACY_SHAPE = (1, 28, 28)
LEGACY_DATASET = "mnist-5k"


@dataclass(frozen=True)
class TrainedFor:
    """The data a checkpoint was trained on; ``assumed`` when read from the legacy default;
    ``dataset`` None when only the shape is known (e.g. from a stored model config)."""

    dataset: str | None
    dataset_hash: str | None
    shape: tuple[int, int, int]
    assumed: bool = False


def shape_text(shape: tuple[int, ...]) -> str:
    """(3, 32, 32) -> '3 x 32 x 32'."""
    return " x ".join(str(int(n)) for n in shape)


def metadata_for(dataset: object) -> dict[str, str]:
    """The checkpoint metadata naming ``dataset`` (an :class:`~denoisebench.datasets.base.ImageDataset`)."""
    return {"dataset": dataset.id, "dataset_hash": dataset.content_hash,  # type: ignore[attr-defined]
            "image_shape": json.dumps(list(dataset.image_shape))}  # type: ignore[attr-defined]


def trained_for(metadata: Mapping[str, str]) -> TrainedFor | None:
    """The data recorded in a checkpoint's metadata, the legacy default, or None (no record at all)."""
    if "image_shape" in metadata:
        try:
            shape = tuple(int(n) for n in json.loads(metadata["image_shape"]))
        except (ValueError, TypeError):
            shape = ()
        if len(shape) != 3:
            raise DenoisebenchError(f"checkpoint metadata image_shape {metadata['image_shape']!r} is not [C, H, W]: "
                                    "retrain the checkpoint with this version")
        return TrainedFor(metadata.get("dataset", "?"), metadata.get("dataset_hash"), shape)  # type: ignore[arg-type]
    if "dataset" in metadata:
        return TrainedFor(metadata["dataset"] or LEGACY_DATASET, metadata.get("dataset_hash"), LEGACY_SHAPE,
                          assumed=True)
    return None


def check_trained_for(record: TrainedFor | None, dataset: object, checkpoint: Path | str, provider: str
                      ) -> str | None:
    """Refuse a dataset of another shape (one-line error); return a warning for another dataset.

    ``dataset`` is the run's :class:`~denoisebench.datasets.base.ImageDataset`; None passes.
    """
    if record is None or dataset is None:
        return None
    name = Path(checkpoint).name
    shape = tuple(dataset.image_shape)  # type: ignore[attr-defined]
    if shape != record.shape:
        assumed = " (assumed for checkpoints that record no shape)" if record.assumed else ""
        raise DenoisebenchError(
            f"checkpoint {name} was trained on {shape_text(record.shape)} images "
            f"({record.dataset or 'dataset not recorded'}){assumed}; "
            f"dataset {dataset.id} has {shape_text(shape)}: train one with "  # type: ignore[attr-defined]
            f"'denoisebench train --provider {provider} --dataset {dataset.id}'")  # type: ignore[attr-defined]
    if record.dataset is None:
        return None
    same_id = record.dataset == dataset.id  # type: ignore[attr-defined]
    same_hash = record.dataset_hash is None or record.dataset_hash == dataset.content_hash  # type: ignore[attr-defined]
    if same_id and same_hash:
        return None
    what = (f"dataset {record.dataset}" if not same_id
            else f"another version of {record.dataset} (content hash {str(record.dataset_hash)[:12]})")
    run_id, run_hash = dataset.id, dataset.content_hash  # type: ignore[attr-defined]
    warning = (f"checkpoint {name} was trained on {what}, not on {run_id} (hash {run_hash[:12]}); "
               "the images have the same shape, so it runs")
    print(f"warning: {warning}", file=sys.stderr)
    return warning
