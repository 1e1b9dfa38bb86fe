"""denoisebench: benchmark any denoiser as the engine of a DDPM."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("denoisebench")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

from .datasets.base import DatasetOptions, DatasetSpec, ImageDataset  # noqa: E402
from .diffusion.samplers.base import Sampler, StepOutput  # noqa: E402
from .diffusion.samplers.sigma_space import SigmaSpaceSampler  # noqa: E402
from .errors import DenoisebenchError, ProviderError, SamplerError  # noqa: E402
from .metrics.base import Metric, MetricColumn, MetricSkipped  # noqa: E402
from .metrics.evaluation import Evaluation  # noqa: E402
from .options import parse_bool  # noqa: E402
from .plugins.hookspecs import hookimpl  # noqa: E402
from .interfaces.provider import EpsilonProvider, ProviderContext  # noqa: E402
from .interfaces.restoration import RestorationProvider  # noqa: E402
from .providers.per_image import PerImageRestorationProvider  # noqa: E402
from .diffusion.schedule import NoiseSchedule, make_schedule  # noqa: E402
from .api import RunResult, bench, load_runs, run  # noqa: E402
from . import compare as _compare_package  # noqa: E402
from .api import compare as _compare_runs  # noqa: E402


class _CallableModule(type(_compare_package)):  # type: ignore[misc]
    """``denoisebench.compare`` is both the subpackage and :func:`denoisebench.api.compare`."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        return _compare_runs(*args, **kwargs)  # type: ignore[arg-type]


_compare_package.__class__ = _CallableModule
compare = _compare_package  # db.compare("results/") -> DataFrame; denoisebench.compare.* still imports

__all__ = [
    "DatasetOptions", "DatasetSpec", "DenoisebenchError", "EpsilonProvider", "Evaluation", "ImageDataset",
    "Metric", "MetricColumn", "MetricSkipped", "NoiseSchedule", "PerImageRestorationProvider", "ProviderContext",
    "ProviderError", "RestorationProvider", "RunResult", "Sampler", "SamplerError", "SigmaSpaceSampler", "StepOutput", "__version__", "bench", "compare", "hookimpl",
    "load_runs", "make_schedule", "parse_bool", "run",
]
