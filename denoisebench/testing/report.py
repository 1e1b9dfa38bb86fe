"""What the contract kit found: the checks that passed, one line per failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CHECKS = ("metadata", "build", "shape-dtype", "finite", "input-unchanged", "deterministic",
          "batch-independent", "run")


class ContractError(AssertionError):
    """A plugin failed one or more contract checks; the message lists each one."""


class ProviderContractError(ContractError):
    """A provider failed one or more contract checks; the message lists each one."""


class SamplerContractError(ContractError):
    """A sampler failed one or more contract checks."""


class MetricContractError(ContractError):
    """A metric failed one or more contract checks."""


class DatasetContractError(ContractError):
    """A dataset failed one or more contract checks."""


_ERRORS: dict[str, type[ContractError]] = {"provider": ProviderContractError, "sampler": SamplerContractError,
                                           "metric": MetricContractError, "dataset": DatasetContractError}


@dataclass
class ContractReport:
    """What a ``check_*`` function found: the checks that passed, and one line per failure."""

    provider: str  # the name of the plugin checked (a provider, sampler, metric or dataset)
    passed: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    run_dir: Path | None = None
    kind: str = "provider"

    @property
    def name(self) -> str:
        return self.provider

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, check: str, message: str) -> None:
        self.failures.setdefault(check, message)

    def summary(self) -> str:
        lines = [f"{self.kind} {self.provider!r} failed {len(self.failures)} of the denoisebench "
                 f"{self.kind} contract checks:"]
        lines += [f"  - {check}: {message}" for check, message in self.failures.items()]
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        if self.failures:
            raise _ERRORS.get(self.kind, ContractError)(self.summary())

    def finish(self, checks: tuple[str, ...], skipped: set[str] | None = None) -> None:
        """Record every check of ``checks`` that did not fail (and was not skipped) as passed."""
        self.passed = [c for c in checks if c not in self.failures and c not in (skipped or set())]


def check_identity(plugin: object, report: ContractReport, key: str = "name", options: bool = False) -> None:
    """The metadata every plugin declares: its ``key`` (a non-empty string without spaces), a one-line
    ``description`` and, with ``options``, a dict of option name -> one-line help."""
    ident, desc = getattr(plugin, key, None), getattr(plugin, "description", None)
    if not isinstance(ident, str) or not ident.strip() or any(c.isspace() for c in ident):
        report.fail("metadata", f"{key} must be a non-empty string without spaces, got {ident!r}")
    if not isinstance(desc, str) or not desc.strip() or "\n" in desc.strip():
        report.fail("metadata", f"description must be one non-empty line, got {desc!r}")
    if options:
        opts = getattr(plugin, "options", None)
        if not isinstance(opts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in opts.items()):
            report.fail("metadata", f"options must be a dict of option name -> one-line help, got {opts!r}")
