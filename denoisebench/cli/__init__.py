"""The ``denoisebench`` command: one module per verb, errors as one line and exit code 2."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import DenoisebenchError
from ..runs.distributed import env_rank


def _say(line: str) -> None:
    """Print one error line on stderr; under torchrun only rank 0 speaks (every rank sees the same input)."""
    if env_rank() == 0:
        click.echo(line.replace("\n", " "), err=True)


class OneLineErrorGroup(click.Group):
    """A click group whose usage and user errors print as a single line, exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        kwargs.setdefault("standalone_mode", True)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _say(f"Error: {exc.format_message()}{hint}")
            sys.exit(2)
        except DenoisebenchError as exc:
            _say(f"Error: {exc}")
            sys.exit(2)
        except KeyboardInterrupt:
            _say("Interrupted: a run writes nothing; train keeps its last saved checkpoint.")
            sys.exit(130)


@click.group(cls=OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="denoisebench")
def cli() -> None:
    """Benchmark denoisers as the engine of a DDPM: quality, novelty and cost."""


def main() -> None:
    cli()


# one module per verb; importing a module registers its verb on ``cli``
from . import bench, compare, datasets, encoders, features, figure, leaderboard, listing, probe, quickstart, report, run, score, train  # noqa: E402,F401,I001
