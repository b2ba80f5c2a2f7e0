"""``aigate-server notify status``: where the notification outbox stands (see :mod:`.outbox`)."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from aigate.protocol import format_duration
from aigate.server.cli_options import DataDirOpt, DbOpt, say
from aigate.server.policy import PolicyError, load_policy
from aigate.server.preflight import open_engine
from aigate.server.settings import Settings

notify_app = typer.Typer(help="Notifications to [[notify]] receivers.", no_args_is_help=True)


def _names(settings: Settings) -> dict[str, tuple[str, str]]:
    """Receiver id -> (name, format) from the current policy (never the URL: it is a secret)."""
    try:
        policy = load_policy(settings.policy_path)
    except PolicyError:
        say(f"warning: cannot read the policy {settings.policy_path}; receivers are shown by id")
        return {}
    return {t.receiver: (t.name, t.format) for t in policy.notify}


@notify_app.command("status")
def notify_status(data_dir: DataDirOpt = None, db: DbOpt = None,
                  as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """Per receiver and state (pending, sending, delivered, failed): how many, the oldest, the next
    attempt and the last error. Exit 1 when a notification has failed for good."""
    from aigate.server import outbox

    settings, engine = open_engine(data_dir, db)
    with engine.connect() as conn:
        rows = outbox.status(conn)
    names = _names(settings)
    now = int(time.time())
    for row in rows:
        name, fmt = names.get(row["receiver"], (f"{row['receiver'][:8]} (not in the policy)", "-"))
        if as_json:
            typer.echo(json.dumps({**row, "name": name, "format": fmt}))
            continue
        line = f"{name}\t{fmt}\t{row['state']}\t{row['count']}\toldest {format_duration(now - row['oldest'])} ago"
        if row["state"] == outbox.PENDING:
            line += f"\tnext attempt in {format_duration(max(row['next_at'] - now, 0))}"
        if row["last_error"] and row["state"] != outbox.DELIVERED:
            line += f"\tlast error: {row['last_error']}"
        typer.echo(line)
    if not rows and not as_json:
        typer.echo("no notifications yet" + ("" if names else " (the policy has no [[notify]] receivers)"))
    if any(r["state"] == outbox.FAILED for r in rows):
        raise typer.Exit(1)
