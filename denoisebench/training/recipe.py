"""The training recipe interface, re-exported: it lives in :mod:`denoisebench.interfaces.recipe`.

Kept so that plugins importing ``denoisebench.training.recipe`` keep working.
"""

from ..interfaces.recipe import Forward, TrainingRecipe, is_trainable, recipe_of

__all__ = ["Forward", "TrainingRecipe", "is_trainable", "recipe_of"]
