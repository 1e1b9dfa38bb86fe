"""Find the line of a key in a suite file, so that errors found after parsing can name it.

``tomllib`` gives line numbers only for syntax errors; the values it returns carry none. The
suite files are small and written by hand, so a line scan that follows table headers is enough:
``[suite]``, the k-th ``[[entry]]`` or ``[[sampler]]``, and sub-tables such as ``[entry.options]``.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(\s*\.\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*\s*=""")
_TOML_LINE = re.compile(r"at line (\d+)(?:, column (\d+))?")


def _bare(key: str) -> str:
    return key.strip().strip("\"'")


def key_on_line(line: str) -> str | None:
    """The (first part of the) key assigned on a ``key = value`` line, else None."""
    m = _KEY.match(line)
    return _bare(m.group(1)) if m else None


def toml_error_line(message: str) -> tuple[int | None, int | None]:
    """Line and column that a ``tomllib.TOMLDecodeError`` message names, if any."""
    m = _TOML_LINE.search(message)
    if not m:
        return None, None
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None


def find_line(text: str, table: str, index: int | None = None, key: str | None = None) -> int | None:
    """1-based line of ``key`` in table ``table`` (its ``index``-th occurrence for arrays of tables).

    Without ``key``, or when the key is absent, the table's header line; None when that is absent too.
    """
    lines = text.splitlines()
    header_line: int | None = None
    seen = -1
    inside = False
    for number, line in enumerate(lines, start=1):
        header = _HEADER.match(line)
        if header:
            name = _bare(header.group(1))
            if name == table:
                seen += 1
                inside = index is None or seen == index
                if inside:
                    header_line = number
                continue
            if inside and key is not None and name == f"{table}.{key}":
                return number
            if not name.startswith(f"{table}."):
                if inside and header_line is not None:
                    break
                inside = False
            continue
        if inside and key is not None and key_on_line(line) == key:
            return number
    return header_line
