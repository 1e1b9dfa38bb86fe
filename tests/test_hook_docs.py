"""docs/hooks.md is checked against the hookspec docstrings: every hook documented, none stale.

The reference section of docs/hooks.md is generated from ``denoisebench/plugins/hookspecs.py``; after
changing a hook, regenerate it with ``python tests/test_hook_docs.py``.
"""

from __future__ import annotations

import inspect
import sys
import types
from pathlib import Path

import pluggy

from denoisebench.plugins import hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"
BEGIN = "<!-- BEGIN GENERATED HOOK REFERENCE (python tests/test_hook_docs.py) -->"
END = "<!-- END GENERATED HOOK REFERENCE -->"
SPEC_ATTR = "denoisebench_spec"  # what pluggy's HookspecMarker("denoisebench") sets


def hook_functions(module: types.ModuleType) -> list[types.FunctionType]:
    """The hookspecs of ``module`` in source order."""
    specs = [f for f in vars(module).values() if inspect.isfunction(f) and hasattr(f, SPEC_ATTR)]
    return sorted(specs, key=lambda f: f.__code__.co_firstlineno)


def undocumented(module: types.ModuleType) -> list[str]:
    """Names of hooks without a docstring."""
    return [f.__name__ for f in hook_functions(module) if not (f.__doc__ or "").strip()]


def signature(f: types.FunctionType) -> str:
    """``name(arg: Annotation, ...) -> Return`` as written in the source."""
    def ann(a: object) -> str:
        return a if isinstance(a, str) else inspect.formatannotation(a)

    sig = inspect.signature(f)
    params = ", ".join(p.name if p.annotation is p.empty else f"{p.name}: {ann(p.annotation)}"
                       for p in sig.parameters.values())
    ret = "" if sig.return_annotation is sig.empty else f" -> {ann(sig.return_annotation)}"
    return f"{f.__name__}({params}){ret}"


def render(module: types.ModuleType) -> str:
    """The generated reference: one section per hook, its signature, its docstring."""
    parts = []
    for f in hook_functions(module):
        parts.append(f"### `{f.__name__}`\n\n```python\n{signature(f)}\n```\n\n"
                     f"{inspect.cleandoc(f.__doc__ or '(undocumented)')}\n")
    return "\n".join(parts)


def generated_section(text: str) -> str:
    if BEGIN not in text or END not in text:
        return ""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def write_docs() -> None:
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n{render(hookspecs)}{END}{tail}")


def test_every_hook_has_a_docstring() -> None:
    assert hook_functions(hookspecs), "no hookspecs found"
    assert not undocumented(hookspecs), f"hooks without a docstring: {undocumented(hookspecs)}"


def test_hooks_md_matches_the_hookspecs() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, f"{DOC} lost its generated-section markers"
    assert generated_section(text) == render(hookspecs), (
        "docs/hooks.md is out of date with denoisebench/plugins/hookspecs.py: run 'python tests/test_hook_docs.py'")
    for f in hook_functions(hookspecs):
        assert f"### `{f.__name__}`" in text


def test_the_checks_fail_for_an_undocumented_or_unlisted_hook() -> None:
    spec = pluggy.HookspecMarker("denoisebench")
    fake = types.ModuleType("fake_hookspecs")
    exec("def register_widgets(register):\n    pass\n", fake.__dict__)  # noqa: S102
    fake.register_widgets = spec(fake.register_widgets)
    fake.register_providers = hookspecs.register_providers
    assert undocumented(fake) == ["register_widgets"]
    assert generated_section(DOC.read_text()) != render(fake)


if __name__ == "__main__":
    write_docs()
    print(f"wrote {DOC}", file=sys.stderr)
