"""The dataset contract: ``check_dataset("my-dataset")`` in a plugin's own test suite.

The checks:

* ``metadata``: an ``id`` without spaces, a one-line ``description``, a callable ``load``;
* ``load``: ``load(options)`` returns a ``denoisebench.ImageDataset`` (twice, for the hash check);
* ``splits``: a non-empty train and held-out split, and the ImageDataset's ``id`` is the spec's;
* ``dtype-shape``: uint8, N x H x W (grey) or N x H x W x C with C = 1 or 3, H and W at least 8,
  both splits of one image shape (any C x H x W, not necessarily square);
* ``labels``: optional; when given, one integer per image of each split (``None`` is allowed);
* ``stable-hash``: loading twice gives the same content hash, and it is the hash of the arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets.base import DatasetOptions, DatasetSpec, ImageDataset, check_image_array, content_hash, \
    image_shape_of
from .report import ContractReport, check_identity

DATASET_CHECKS = ("metadata", "load", "splits", "dtype-shape", "labels", "stable-hash")


def _load(spec: DatasetSpec, options: DatasetOptions, report: ContractReport) -> ImageDataset | None:
    try:
        data = spec.load(options)
    except ValueError as exc:  # ImageDataset refuses arrays of the wrong dtype or shape
        layout = any(word in str(exc) for word in ("uint8", "shape", "channels", "pixels"))
        report.fail("dtype-shape" if layout else "load", f"load(options) raised ValueError: {exc}")
        return None
    except Exception as exc:  # noqa: BLE001 - reported
        report.fail("load", f"load(options) raised {type(exc).__name__}: {exc}")
        return None
    if not isinstance(data, ImageDataset):
        report.fail("load", f"load(options) returned {type(data).__name__}, not a denoisebench.ImageDataset")
        return None
    return data


def _check_labels(data: ImageDataset, report: ContractReport) -> None:
    for split in ("train", "heldout"):
        labels: Any = getattr(data, f"{split}_labels")
        images = getattr(data, f"{split}_images")
        if labels is None:
            continue
        arr = np.asarray(labels)
        if arr.shape != (len(images),) or not np.issubdtype(arr.dtype, np.integer):
            report.fail("labels", f"{split}_labels must be None or one integer per image ({len(images)},), got "
                        f"{arr.dtype} {arr.shape}")


def check_dataset(dataset: str | DatasetSpec, *, options: DatasetOptions | None = None,
                  raise_on_failure: bool = True) -> ContractReport:
    """Check ``dataset`` (a registered id or a ``DatasetSpec``) against the contract, loading it with
    ``options`` (default ``DatasetOptions()``). Raises :class:`DatasetContractError` listing every
    failed check unless ``raise_on_failure`` is False."""
    spec = _resolve(dataset)
    report = ContractReport(str(getattr(spec, "id", spec)), kind="dataset")
    options = options or DatasetOptions()
    check_identity(spec, report, key="id")
    if not callable(getattr(spec, "load", None)):
        report.fail("metadata", "load must be a function of DatasetOptions returning an ImageDataset")
        report.finish(("metadata",))
        return _done(report, raise_on_failure)
    first = _load(spec, options, report)
    if first is None:
        report.finish(("metadata",))
        return _done(report, raise_on_failure)
    if len(first.train_images) == 0 or len(first.heldout_images) == 0:
        report.fail("splits", f"both splits must hold images: train {len(first.train_images)}, held-out "
                    f"{len(first.heldout_images)}")
    if first.id != spec.id:
        report.fail("splits", f"the ImageDataset's id {first.id!r} differs from the spec's {spec.id!r}: runs would "
                    "record the wrong dataset")
    shapes = set()
    for split in ("train_images", "heldout_images"):
        arr = getattr(first, split)
        try:
            check_image_array(arr, split)
            shapes.add(image_shape_of(arr))
        except ValueError as exc:
            report.fail("dtype-shape", str(exc))
    if len(shapes) > 1:
        report.fail("dtype-shape", f"train and held-out images differ in shape: {sorted(shapes)}")
    _check_labels(first, report)
    second = _load(spec, options, report)
    if second is not None:
        if second.content_hash != first.content_hash:
            report.fail("stable-hash", "two loads gave different content hashes: load the same images in the same "
                        "order every time (seed any randomness)")
        elif first.content_hash != content_hash(first.train_images, first.train_labels, first.heldout_images,
                                                first.heldout_labels):
            report.fail("stable-hash", "content_hash is not the hash of the arrays: leave it to ImageDataset")
    report.finish(DATASET_CHECKS)
    return _done(report, raise_on_failure)


def _done(report: ContractReport, raise_on_failure: bool) -> ContractReport:
    if raise_on_failure:
        report.raise_for_failures()
    return report


def _resolve(dataset: str | DatasetSpec) -> DatasetSpec:
    if isinstance(dataset, str):
        from ..plugins import get_registry

        return get_registry().dataset(dataset)
    if not isinstance(dataset, DatasetSpec):
        raise TypeError(f"check_dataset takes a dataset id or a DatasetSpec, got {dataset!r}")
    return dataset
