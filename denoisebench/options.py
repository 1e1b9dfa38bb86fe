"""Options given as ``KEY=VALUE`` strings: the one parser of each value type, shared by providers,
samplers, metrics and plugins.

A class that takes options declares ``options: dict[str, str]`` (key -> one-line help); values
arrive as strings and :class:`Configurable` refuses unknown keys and reads typed values with
one-line errors that name the owner, the key and what is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from .errors import DenoisebenchError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_bool(value: str | bool, what: str = "value") -> bool:
    """``1/0``, ``true/false``, ``yes/no``, ``on/off`` (any case) as a bool, or a one-line error."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise DenoisebenchError(f"{what} must be 1 or 0 (true/false, yes/no, on/off), got {value!r}")


def canonical_value(value: object) -> str:
    """One spelling per option value, for labels and run ids: a number as the shortest repr of its
    float without a trailing '.0' ('0', '0.0', '0.00' and 0.0 -> '0'; '0.50' -> '0.5'; '1e-3' ->
    '0.001'); anything else its stripped str()."""
    text = str(int(value) if isinstance(value, bool) else value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if text.lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return text.lower()
    canonical = repr(number)
    return canonical[:-2] if canonical.endswith(".0") else canonical


def canonical_label(label: str) -> str:
    """A label with each ``KEY=VALUE`` word's value in :func:`canonical_value` form ('ddim eta=0.0' ->
    'ddim eta=0'), so runs recorded before the values were normalised name the same configuration."""
    words = []
    for word in str(label).split(" "):
        key, sep, value = word.partition("=")
        words.append(f"{key}={canonical_value(value)}" if sep and key and value else word)
    return " ".join(words)


def parse_key_values(items: Iterable[str], what: str = "option") -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict (later keys win), or a one-line error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise DenoisebenchError(f"{what} must be KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


class Configurable:
    """Declared string options, unknown keys refused, typed getters with one-line errors.

    Subclasses set ``options`` (key -> one-line help) and call :meth:`check_options` with what the
    user gave; ``kind`` and ``name`` name the owner in messages ("sampler 'ddim' has no option ...").
    """

    kind: ClassVar[str] = "component"
    name: ClassVar[str]
    options: ClassVar[dict[str, str]] = {}

    def check_options(self, given: Mapping[str, str]) -> None:
        """Refuse keys the class does not declare; keep the rest for the getters."""
        self.given_options = {str(k): str(v) for k, v in given.items()}
        unknown = sorted(set(self.given_options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise DenoisebenchError(
                f"{self.kind} {self.name!r} has no option {unknown[0]!r}: its options are {known}")

    def _raw(self, key: str, default: object) -> str | None:
        given = getattr(self, "given_options", {})
        return given.get(key, None if default is None else str(default))

    def _what(self, key: str) -> str:
        return f"option {key} of {self.kind} {self.name!r}"

    def option_bool(self, key: str, default: bool = False) -> bool:
        return parse_bool(self._raw(key, int(default)) or "0", self._what(key))

    def option_float(self, key: str, default: float, lo: float = float("-inf"), hi: float = float("inf")) -> float:
        raw = self._raw(key, default)
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DenoisebenchError(f"{self._what(key)} must be a number, got {raw!r}") from None
        if not lo <= value <= hi:
            raise DenoisebenchError(f"{self._what(key)} must lie in [{lo:g}, {hi:g}], got {raw}")
        return value

    def option_int(self, key: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
        raw = self._raw(key, default)
        try:
            value = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DenoisebenchError(f"{self._what(key)} must be an integer, got {raw!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise DenoisebenchError(f"{self._what(key)} must lie in [{lo}, {hi}], got {raw}")
        return value

    def option_choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        choices = tuple(choices)
        value = self._raw(key, default) or default
        if value not in choices:
            raise DenoisebenchError(f"{self._what(key)} must be one of {', '.join(choices)}, got {value!r}")
        return value
