"""What every people-facing subcommand shares: exit codes, `--json`, tables, error reporting.

Exit codes (docs/cli.md): 0 success; 1 the thing checked is bad (a run failed, a QC check failed);
2 usage error (click); 3 not found (run, sample, file); 4 refused (invalid file, would overwrite,
erasure not confirmed); 5 AWS unreachable or misconfigured (no endpoint, missing table or bucket).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

import click


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4
    AWS = 5


class CommandError(Exception):
    """An expected failure: printed as one `error:` line, exits with `code`."""

    def __init__(self, message: str, code: ExitCode):
        super().__init__(message)
        self.code = code


def fail(message: str, code: ExitCode) -> NoReturn:
    raise CommandError(message, code)


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Left-aligned plain-text columns (no dependency, pipes and greps well)."""
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _aws_error(error: Exception) -> CommandError:
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = error.response.get("Error", {}).get("Message", "")
        if code in {"ResourceNotFoundException", "NoSuchBucket"}:
            return CommandError(
                f"AWS resource missing ({code}: {message}); check METADATA_TABLE, JOBS_TABLE, QC_TABLE and "
                "the *_BUCKET variables, or deploy the stack",
                ExitCode.AWS,
            )
        operation = error.operation_name
        return CommandError(f"AWS call {operation} failed: {code}: {message}", ExitCode.AWS)
    return CommandError(f"AWS not reachable: {error}", ExitCode.AWS)


F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Turn expected failures into one clear line on stderr and an exit code, never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CommandError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(int(error.code))
        except (ClientError, BotoCoreError) as error:
            wrapped = _aws_error(error)
            click.echo(f"error: {wrapped}", err=True)
            sys.exit(int(wrapped.code))

    return wrapper  # type: ignore[return-value]
