"""The one checkpoint module of every trainable provider (safetensors; ``.pth`` only weights-only).

Two files per training run, both written atomically (:func:`denoisebench.fileio.atomic_path`):

* ``PATH`` (``*.safetensors``): the EMA weights, i.e. the model used for sampling; metadata (all
  strings) holds ``format``, ``provider``, ``model_config`` (JSON), ``dataset``, ``dataset_hash``,
  ``image_shape`` (JSON [C, H, W]; :mod:`.trained_for`), ``schedule``, ``step``, ``run_id``,
  ``git_commit``, ``code_version``, ``train_config`` (JSON), ``created``.
* :func:`state_path` (``*.state.safetensors``): what ``--resume`` needs, with the same ``run_id``.

Modules: :mod:`.files` (reading safetensors and official ``.pth`` files, state-dict unwrapping,
strict loading, atomic writes), :mod:`.weights` (the format, finding and loading a provider's
weights), :mod:`.state` (the training state and its tie to the checkpoint).
"""

from .files import first_mismatch, load_strict, read_tensors, unwrap_state_dict, write_tensors
from .shipped import shipped_for, shipped_weights
from .state import (check_state_belongs, load_train_state, new_run_id, read_state_metadata, save_train_state,
                    state_path)
from .trained_for import TrainedFor, check_trained_for, metadata_for, trained_for
from .weights import (FORMAT, STATE_FORMAT, LoadedWeights, config_to_json, load_weights, read_metadata,
                      resolve_checkpoint, save_weights)

__all__ = ["FORMAT", "STATE_FORMAT", "LoadedWeights", "check_state_belongs", "config_to_json", "first_mismatch",
           "load_strict", "metadata_for", "shipped_for", "shipped_weights", "TrainedFor", "check_trained_for",
           "trained_for", "load_train_state", "load_weights", "new_run_id", "read_metadata", "read_state_metadata",
           "read_tensors", "resolve_checkpoint", "save_train_state", "save_weights", "state_path",
           "unwrap_state_dict", "write_tensors"]
