"""`denoisebench run` never loses work and says what went wrong in one line (issue: hardening)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from denoisebench.errors import DenoisebenchError
from denoisebench.runs import records
from denoisebench.runs.records import INCOMPLETE_PREFIX, STAGING_PREFIX, load_samples
from denoisebench.runs.runner import RunConfig, execute


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it (a fresh process: exit codes and stderr exactly as seen)."""
    return subprocess.run([sys.executable, "-c", "from denoisebench.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def cli_inproc(*args: str) -> subprocess.CompletedProcess[str]:
    """The same in this process (faster), through click's runner."""
    from click.testing import CliRunner

    from denoisebench.cli import cli as group

    res = CliRunner().invoke(group, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), res.exit_code, res.stdout, res.stderr)


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999999"])
def test_out_of_range_seed_is_one_line_and_writes_nothing(tmp_path: Path, seed: str) -> None:
    results = tmp_path / "results"
    proc = cli("run", "-p", "empirical", "-n", "2", "--steps", "2", "--seed", seed, "--results-dir", str(results))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--seed must be an integer between 0 and 2**63 - 1" in lines[0]
    assert not results.exists() or not any(results.iterdir())


def test_a_failure_after_sampling_keeps_the_samples_and_names_them(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(records, "write_json_atomic", disk_full)
    with pytest.raises(DenoisebenchError) as info:
        execute(RunConfig(provider="empirical", num_samples=3, steps=2, metrics=False, results_dir=tmp_path))
    message = str(info.value)
    assert "\n" not in message and "No space left on device" in message
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(INCOMPLETE_PREFIX)]
    assert len(kept) == 1 and str(kept[0]) in message
    assert load_samples(kept[0]).shape == (3, 28, 28)
    assert not list(tmp_path.glob(f"{STAGING_PREFIX}*"))


def test_stale_staging_dirs_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f"{STAGING_PREFIX}{dead}-abc"
    live = tmp_path / f"{STAGING_PREFIX}{os.getpid()}-def"
    for d in (stale, live):
        d.mkdir()
        (d / "samples.npz").write_bytes(b"partial")
    records.prepare_results_dir(tmp_path)
    assert not stale.exists() and live.exists()


def test_run_prints_key_metrics_against_the_floor_before_the_run_dir(tmp_path: Path) -> None:
    from denoisebench.runs.summary import summary_lines

    record = {"metrics": {"fid": {"value": 3.1}, "kid": {"value": 0.0457},
                          "classifier": {"entropy_bits": 3.3}, "nearest": {"memorised_share": 0.0},
                          "floor": {"fid": {"value": 0.94}, "kid": {"value": 0.0}},
                          "nearest_heldout": {"memorised_share": 0.0}},
              "timing": {"images_per_s": 40.0}, "sampler": {"nfe": 50}}
    lines = summary_lines(record)
    assert lines[0].startswith("FID-proxy 3.10 (floor 0.94); KID-proxy ×1000 45.70 (floor 0.00)")
    assert "class entropy (bits) 3.300" in lines[0] and "memorised 0.000 (held-out real 0.000)" in lines[0]
    assert lines[1] == "40.0 images/s, 50 network calls per image"
    proc = cli("run", "-p", "empirical", "-n", "2", "--steps", "2", "--no-metrics", "--results-dir", str(tmp_path))
    out = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and Path(out[-1]).is_dir()
    assert "network calls per image" in out[-2]


def test_progress_off_a_terminal_is_plain_lines() -> None:
    from denoisebench.cli.progress import Progress

    stream = io.StringIO()
    with Progress(10, "sampling x", "image-steps", every_s=0.0, stream=stream) as progress:
        for _ in range(10):
            progress.update(1)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "sampling x: started (10 image-steps)"
    assert any("5/10 image-steps (50%)" in line for line in lines)
    assert lines[-1].startswith("sampling x: done in") and "\r" not in stream.getvalue()


def test_sampler_options_and_shorthands(tmp_path: Path) -> None:
    common = ["run", "-p", "empirical", "-n", "2", "--steps", "3", "--no-metrics"]
    a = cli_inproc(*common, "--sampler", "ddpm", "--variance", "small", "--results-dir", str(tmp_path / "a"))
    b = cli_inproc(*common, "--sampler", "ddpm", "-s", "variance=small", "--results-dir", str(tmp_path / "b"))
    dirs = [Path(p.stdout.strip().splitlines()[-1]) for p in (a, b)]
    assert (dirs[0] / "samples.npz").read_bytes() == (dirs[1] / "samples.npz").read_bytes()
    record = json.loads((dirs[1] / "run.json").read_text())
    assert record["sampler"]["label"] == "ddpm small" and record["sampler"]["nfe"] == 3
    assert record["sampler"]["plugin"] == "denoisebench.builtin"
    for args, needle in ((["--sampler", "nope"], "available samplers are"),  # the last --sampler wins
                         (["-s", "bogus=1"], "sampler 'ddim' has no option 'bogus'"),
                         (["-s", "eta=2"], "must lie in [0, 1]"),
                         (["-s", "spacing=odd"], "spacing of sampler 'ddim' must be one of"),
                         (["--eta", "0.5", "-s", "eta=0.2"], "contradicts"),
                         (["-s", "novalue"], "KEY=VALUE")):
        proc = cli_inproc(*common, "--sampler", "ddim", *args, "--results-dir", str(tmp_path / "bad"))
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, \
            (args, proc.stderr)
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


def test_samplers_listing() -> None:
    proc = cli_inproc("samplers", "--json")
    rows = {r["name"]: r for r in json.loads(proc.stdout)["samplers"]}
    assert {"ddpm", "ddim"} <= set(rows) and rows["ddim"]["plugin"] == "denoisebench.builtin"
    assert "eta" in rows["ddim"]["options"]
    text = cli_inproc("samplers").stdout.splitlines()
    assert text[0].split()[:2] == ["name", "kind"] and set(text[1]) <= {"-", " "}
    assert np.any([line.startswith("ddim ") for line in text])


def test_report_takes_run_dirs_and_refuses_an_unwritable_output(tmp_path: Path) -> None:
    run_dir = Path(cli_inproc("run", "-p", "empirical", "-n", "2", "--steps", "2", "--no-metrics",
                              "--results-dir", str(tmp_path / "r")).stdout.strip().splitlines()[-1])
    for args in ([str(run_dir)], ["--results-dir", str(run_dir)], [str(tmp_path / "r")]):
        out = cli_inproc("report", *args, "--format", "json")
        assert out.returncode == 0 and len(json.loads(out.stdout)["tables"][0]["rows"]) >= 1, args
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = cli("report", str(run_dir), "--output", str(blocker / "report.md"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "cannot write the report" in proc.stderr and "--output" in proc.stderr


def test_checkpoint_for_a_provider_without_weights_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"x")
    proc = cli_inproc("run", "-p", "empirical", "-n", "2", "--steps", "2", "--checkpoint", str(weights),
                      "--results-dir", str(tmp_path / "r"))
    assert proc.returncode == 2 and "loads no weights" in proc.stderr and "drop --checkpoint" in proc.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
    from denoisebench.plugins import get_registry

    assert get_registry().provider("unet")[0].takes_checkpoint()
    assert get_registry().provider("kbnet")[0].takes_checkpoint()


class _Denoiser:
    """Restoration providers whose denoise() breaks the contract in one way each (public API only)."""

    @staticmethod
    def make(kind: str) -> type:
        import torch

        from denoisebench import RestorationProvider

        class Bad(RestorationProvider):
            name, description = f"bad-{kind}", "test"

            def denoise(self, y, noise_std):
                if kind == "numpy":
                    return y.numpy()
                if kind == "float64":
                    return y.double()
                if kind == "shape":
                    return y[..., :-1]
                return y / noise_std.clamp(1)  # a non-blind denoiser that forgot blind = False

        return Bad


@pytest.mark.parametrize("kind, needle", [
    ("numpy", "returned a numpy.ndarray; expected a torch.Tensor of shape"),
    ("float64", "returned shape (2, 1, 28, 28), dtype torch.float64"),
    ("shape", "returned shape (2, 1, 28, 27)"),
    ("needs-sigma", "set blind = False to receive the noise level"),
])
def test_restoration_output_is_checked_before_any_arithmetic(kind: str, needle: str, tiny_dataset) -> None:
    import torch

    from denoisebench import ProviderContext, ProviderError
    from denoisebench.diffusion.schedule import linear_schedule

    provider = _Denoiser.make(kind)(ProviderContext(tiny_dataset))
    x = torch.randn(2, 1, 28, 28)
    with pytest.raises(ProviderError) as info:
        provider.predict_eps(x, torch.tensor([10, 500]), linear_schedule(1000))
    message = str(info.value)
    assert "\n" not in message and f"'bad-{kind}'" in message and needle in message
