"""The package's layers, read from the source (ast): interfaces at the bottom, the registry consulted from the top.

Fails if someone reintroduces an upward import: a low-level module (the loop, the samplers, the
metrics harness, the providers, the trainer) importing the plugin registry, or the interfaces
importing an implementation. Every import statement counts, including ones inside functions and
``if TYPE_CHECKING:`` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "denoisebench"

#: Packages that receive what they need from the registry as arguments (or a Catalogue), never import it.
NO_REGISTRY = ("diffusion", "metrics", "providers", "training", "interfaces")
#: What the interfaces may import from denoisebench: the errors, option parsing, and the records they describe.
INTERFACES_MAY_IMPORT = ("denoisebench.errors", "denoisebench.options", "denoisebench.interfaces",
                         "denoisebench.diffusion.schedule", "denoisebench.datasets.base")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved; ``from X import y``
    also counts ``X.y``, which may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_name(path).split(".") if path.name == "__init__.py" else _module_name(path).split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _files(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


def test_the_import_reader_resolves_relative_imports(tmp_path: Path) -> None:
    """The checker itself: an upward relative import inside a function is seen."""
    names = imports_of(PACKAGE / "cli" / "train.py")
    assert "denoisebench.plugins.get_registry" in names and "denoisebench.training.trainer" in names
    names = imports_of(PACKAGE / "providers" / "unet" / "provider.py")
    assert "denoisebench.interfaces.provider" in names


@pytest.mark.parametrize("subpackage", NO_REGISTRY)
def test_low_layers_never_import_the_plugin_registry(subpackage: str) -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
                 for path in _files(subpackage) for name in sorted(imports_of(path))
                 if _under(name, "denoisebench.plugins")]
    assert not offenders, ("the registry is consulted from the top (cli, runs, api) and handed down as "
                           "classes or a Catalogue (denoisebench.interfaces.catalogue): " + "; ".join(offenders))


def test_interfaces_import_no_implementation() -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
                 for path in _files("interfaces") for name in sorted(imports_of(path))
                 if _under(name, "denoisebench") and name != "denoisebench"
                 and not any(_under(name, allowed) for allowed in INTERFACES_MAY_IMPORT)]
    assert not offenders, "; ".join(offenders)


def test_old_import_paths_are_the_same_objects() -> None:
    import denoisebench
    from denoisebench import interfaces
    from denoisebench.providers import base, restoration
    from denoisebench.training import recipe

    assert base.EpsilonProvider is interfaces.EpsilonProvider is denoisebench.EpsilonProvider
    assert base.ProviderContext is interfaces.ProviderContext is denoisebench.ProviderContext
    assert restoration.RestorationProvider is interfaces.RestorationProvider is denoisebench.RestorationProvider
    assert recipe.TrainingRecipe is interfaces.recipe.TrainingRecipe


def test_run_and_distributed_names_are_reexported() -> None:
    from denoisebench.runs import config, distributed, execution, prepare, process_group, ranks, recording, runner, session

    assert runner.RunConfig is config.RunConfig and runner.execute is execution.execute
    assert runner.prepare is prepare.prepare and runner.write_run is recording.write_run
    assert runner.assemble is execution.assemble and runner.slug is recording.slug
    assert distributed.Session is session.Session and distributed.current is process_group.current
    assert distributed.shard_batches is ranks.shard_batches and distributed.BACKEND == "gloo"


@pytest.mark.parametrize("module", ["config", "prepare", "execution", "recording", "ranks", "session",
                                    "process_group"])
def test_the_run_modules_stay_small(module: str) -> None:
    lines = (PACKAGE / "runs" / f"{module}.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"runs/{module}.py has {lines} lines: split it by job"
