"""The `seqpipe` command: one entry point, one module per subcommand group."""

from __future__ import annotations

import importlib

import click

# Subcommands live in their own modules so each area of the project owns its file;
# they are imported lazily to keep `seqpipe --help` fast and free of heavy imports.
SUBCOMMANDS: dict[str, str] = {
    "demux": "seqpipe.cli.demux:demux",
    "simulate": "seqpipe.cli.simulate:simulate",
    "accuracy": "seqpipe.cli.accuracy:accuracy",
    "validate": "seqpipe.cli.validate:validate",
    "run": "seqpipe.cli.run:run",
    "dashboard": "seqpipe.cli.dashboard:dashboard",
    "upload": "seqpipe.cli.upload:upload",
    "status": "seqpipe.cli.status:status",
    "qc": "seqpipe.cli.qc:qc",
    "deliver": "seqpipe.cli.deliver:deliver",
    "erase": "seqpipe.cli.erase:erase",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seqpipe")
def cli() -> None:
    """Germline pipeline: BCL → FASTQ → CRAM → VCF → QC, locally, on SLURM or on AWS."""


def main() -> None:
    cli()
