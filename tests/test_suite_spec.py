"""Suite files: the issue's minimal form, defaults, cells, and one-line errors that name line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.errors import DenoisebenchError
from denoisebench.suite import expand, load_suite, parse_suite
from denoisebench.suite.locate import find_line

MINIMAL = """\
[suite]
dataset = "mnist-5k"
num_samples = 1000
seeds = [0, 1, 2]

[[entry]]
provider = "unet"

[[entry]]
label = "kbnet-tweedie"
provider = "kbnet"
options = { mode = "tweedie" }

[[sampler]]
name = "ddim"
steps = [20, 50]
"""


def test_the_issues_minimal_suite_expands_to_every_cell() -> None:
    suite = parse_suite(MINIMAL, Path("minimal.toml"))
    assert suite.name == "minimal" and suite.seeds == (0, 1, 2) and suite.num_samples == 1000
    assert [e.label for e in suite.entries] == ["unet", "kbnet-tweedie"]
    assert suite.entries[1].options == {"mode": "tweedie"}
    cells = expand(suite)
    assert len(cells) == 2 * 2 * 3
    assert len({c.hash for c in cells}) == len(cells)
    assert {(c.entry, c.steps, c.seed) for c in cells} == {
        (e, s, seed) for e in ("unet", "kbnet-tweedie") for s in (20, 50) for seed in (0, 1, 2)}
    # the two entries of one (sampler, steps, seed) are neighbours, so pairs complete together
    assert [c.entry for c in cells[:2]] == ["unet", "kbnet-tweedie"] and cells[0].seed == cells[1].seed
    assert all(c.nfe == c.steps for c in cells)


def test_defaults_and_labels() -> None:
    text = ('[[entry]]\nprovider = "kbnet"\noptions = { mode = "scaled", compile = true }\n'
            '[[sampler]]\nname = "ddim"\nsteps = 10\noptions = { eta = 1 }\n')
    suite = parse_suite(text, Path("s.toml"))
    assert suite.dataset == "mnist-5k" and suite.seeds == (0,) and suite.metrics is True
    assert suite.entries[0].options == {"mode": "scaled", "compile": "1"}
    assert suite.entries[0].label == "kbnet compile=1 mode=scaled"
    assert suite.samplers[0].steps == (10,) and suite.samplers[0].label == "ddim eta=1"


def test_cell_identity_ignores_labels_batch_and_device_but_not_configuration() -> None:
    base = parse_suite(MINIMAL, Path("a.toml"))
    relabelled = parse_suite(MINIMAL.replace('label = "kbnet-tweedie"', 'label = "kb"')
                             .replace("[suite]", "[suite]\nbatch_size = 7\ndevice = \"cpu\""), Path("b.toml"))
    other_n = parse_suite(MINIMAL.replace("num_samples = 1000", "num_samples = 999"), Path("c.toml"))
    hashes = [{c.hash for c in expand(s)} for s in (base, relabelled, other_n)]
    assert hashes[0] == hashes[1]
    assert not hashes[0] & hashes[2]


def test_find_line_follows_tables_and_subtables() -> None:
    text = ("[suite]\nseeds = [1]\n\n[[entry]]\nprovider = 'a'\n\n"
            "[[entry]]\nprovider = 'b'\n[entry.options]\nmode = 'x'\n")
    assert find_line(text, "suite", None, "seeds") == 2
    assert find_line(text, "entry", 0, "provider") == 5
    assert find_line(text, "entry", 1, "provider") == 8
    assert find_line(text, "entry", 1, "options") == 9
    assert find_line(text, "entry", 1, "label") == 7  # absent key: the table's header


def _replace(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


MALFORMED = [
    # (suite text, line the error must name, text the error must contain)
    (_replace("num_samples = 1000", "num_samples = 10 00"), 3, "key 'num_samples'"),
    (_replace("num_samples = 1000", 'num_samples = "many"'), 3, "key 'num_samples'"),
    (_replace("seeds = [0, 1, 2]", "seeds = [0, 0]"), 4, "key 'seeds'"),
    (_replace('dataset = "mnist-5k"', 'dataset = "nope"'), 2, "available datasets"),
    (_replace('provider = "unet"', 'provder = "unet"'), 7, "key 'provder'"),
    (_replace('provider = "unet"', 'provider = "unetx"'), 7, "available providers"),
    (_replace('provider = "unet"', 'label = "x"'), 6, "key 'provider': is required"),
    (_replace('options = { mode = "tweedie" }', 'options = { bogus = "1" }'), 12, "no option 'bogus'"),
    (_replace('options = { mode = "tweedie" }', 'options = "tweedie"'), 12, "key 'options'"),
    (_replace('label = "kbnet-tweedie"', 'label = "unet"'), 10, "already used"),
    (_replace('label = "kbnet-tweedie"', 'checkpoint = "missing.safetensors"'), 10, "does not exist"),
    (_replace("steps = [20, 50]", "steps = [0, 50]"), 16, "key 'steps'"),
    (_replace("steps = [20, 50]", "steps = [20, 5000]"), 16, "between 1 and T"),
    (_replace('name = "ddim"', 'name = "ddimm"'), 15, "available samplers"),
    (_replace('name = "ddim"', 'name = "ddim"\noptions = { eta = 7 }'), 16, "key 'options'"),
    (_replace("[[sampler]]", "[[samplers]]"), 14, "[samplers]"),
]


@pytest.mark.parametrize("text, line, needle", MALFORMED)
def test_malformed_suites_name_line_and_key(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    with pytest.raises(DenoisebenchError) as info:
        expand(load_suite(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path} line {line},") or message.startswith(f"{path} line {line}:"), message
    assert needle in message, message


@pytest.mark.parametrize("text, line, needle", [MALFORMED[0], MALFORMED[5], MALFORMED[12]])
def test_bench_on_a_malformed_suite_is_one_line_exit_2_and_runs_nothing(tmp_path: Path, text: str, line: int,
                                                                        needle: str) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    results = tmp_path / "results"
    for extra in ([], ["--dry-run"]):
        res = CliRunner().invoke(cli, ["bench", str(path), "--results-dir", str(results), *extra])
        assert res.exit_code == 2, res.output
        lines = [x for x in res.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: ") and f"line {line}" in lines[0], res.stderr
        assert needle in lines[0]
        assert res.stdout == ""
        assert not results.exists()


def test_missing_sampler_table_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DenoisebenchError, match=r"no \[\[sampler\]\] table"):
        parse_suite('[[entry]]\nprovider = "unet"\n', Path("s.toml"))
    with pytest.raises(DenoisebenchError, match="cannot read suite file"):
        load_suite(tmp_path / "absent.toml")
