"""``run``: validate the request, build provider and sampler, generate, measure, record.

The work is split by job; this module gathers the public names (``from denoisebench.runs.runner
import RunConfig, execute`` keeps working):

* :mod:`.config`: :class:`RunConfig`, its defaults and checks, the sampler shorthands;
* :mod:`.prepare`: the registry consulted, provider, sampler and data built (:class:`PreparedRun`);
* :mod:`.execution`: generation in one process or sharded over torchrun's ranks, and the ranks'
  samples assembled in order;
* :mod:`.recording`: the run id, the metrics and the run directory, written atomically.
"""

from __future__ import annotations

from .config import (DEFAULT_SAMPLER, DEFAULT_STEPS, MAX_SEED, RunConfig, sampler_options, validate,
                     with_sampler_shorthands)
from .execution import assemble, execute, execute_sharded, generate_images
from .prepare import PreparedRun, prepare
from .recording import build_record, compute_metrics, run_id_for, slug, write_run

__all__ = ["DEFAULT_SAMPLER", "DEFAULT_STEPS", "MAX_SEED", "PreparedRun", "RunConfig", "assemble", "build_record",
           "compute_metrics", "execute", "execute_sharded", "generate_images", "prepare", "run_id_for",
           "sampler_options", "slug", "validate", "with_sampler_shorthands", "write_run"]
