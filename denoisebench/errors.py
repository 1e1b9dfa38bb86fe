"""User-facing errors: one line that says what went wrong and what to do."""

from __future__ import annotations


class DenoisebenchError(Exception):
    """An error caused by the user's input or environment; the CLI prints it as one line, exit 2."""


class ProviderError(DenoisebenchError):
    """A provider misbehaved (wrong shape, NaN, failing hook) or could not be found."""


class SamplerError(DenoisebenchError):
    """A sampler misbehaved: a step that returns no StepOutput, the wrong shape, NaN from finite eps."""
