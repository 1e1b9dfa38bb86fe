"""Facts about the machine and code that go into every record."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import torch


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    """The commit of the checkout this package runs from, if it is one (dirty marked '+')."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+" if dirty else "")


def describe_environment(device: torch.device) -> dict[str, object]:
    from .. import __version__

    return {
        "denoisebench": __version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def parse_device(name: str) -> torch.device:
    """A torch device that exists here, or a one-line error."""
    from ..errors import DenoisebenchError

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise DenoisebenchError(f"unknown device {name!r}: use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DenoisebenchError(f"device {name!r} is not available on this machine: use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DenoisebenchError(f"device {name!r} is not available on this machine: use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise DenoisebenchError(f"unsupported device {name!r}: use cpu, cuda, cuda:N or mps")
    return device
