"""What the contract kit found: the checks that passed, one line per failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CHECKS = ("metadata", "build", "shape-dtype", "finite", "input-unchanged", "deterministic",
          "batch-independent", "run")


class ProviderContractError(AssertionError):
    """A provider failed one or more contract checks; the message lists each one."""


@dataclass
class ContractReport:
    """What :func:`check_provider` found: the checks that passed, and one line per failure."""

    provider: str
    passed: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    run_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, check: str, message: str) -> None:
        self.failures.setdefault(check, message)

    def summary(self) -> str:
        lines = [f"provider {self.provider!r} failed {len(self.failures)} of the denoisebench "
                 "provider contract checks:"]
        lines += [f"  - {check}: {message}" for check, message in self.failures.items()]
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        if self.failures:
            raise ProviderContractError(self.summary())
