"""Training of trainable providers (``denoisebench train``).

A provider is trainable when its class refers to a :class:`TrainingRecipe` (``training = ...``);
:mod:`.trainer` is the loop, :mod:`.callbacks` and :mod:`.evaluation` what it does at steps,
:mod:`.checkpoint` the one checkpoint format, :mod:`.output` the checks made before training.
"""

from .checkpoint import LoadedWeights, load_weights, resolve_checkpoint
from ..interfaces.recipe import TrainingRecipe, is_trainable, recipe_of

__all__ = ["LoadedWeights", "TrainingRecipe", "is_trainable", "load_weights", "recipe_of", "resolve_checkpoint"]
