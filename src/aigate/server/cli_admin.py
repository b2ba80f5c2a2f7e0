"""``aigate-server users|policy|signing-key|audit ...``: the admin commands (joined in :mod:`.cli`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aigate.errors import AigateError, UsageError
from aigate.protocol import Role
from aigate.server import audit, identity
from aigate.server.audit import AuditEvent
from aigate.server.cli_options import DataDirOpt, DbOpt, cli_actor, say
from aigate.server.preflight import open_engine
from aigate.server.writer import write_now

if TYPE_CHECKING:
    from sqlalchemy import Connection

users_app = typer.Typer(help="Users and their enrollment codes.", no_args_is_help=True)
policy_app = typer.Typer(help="The access policy.", no_args_is_help=True)
key_app = typer.Typer(help="The approval token signing key.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


SHOWN_CHARS = 80  # of a bad argument echoed back in an error: enough to recognise it, never a screenful


def _shown(text: str) -> str:
    """``text`` quoted for an error message, cut to SHOWN_CHARS with the full length said."""
    quoted = repr(text)
    return quoted if len(quoted) <= SHOWN_CHARS else f"{quoted[:SHOWN_CHARS]}... ({len(text)} characters)"


def _email(text: str) -> str:
    from aigate.server.text import clean_label

    email = text.strip().lower()
    if ("@" not in email or len(email) > 254 or any(c.isspace() for c in email) or email.startswith("-")
            or clean_label(email) != email):
        raise UsageError(f"not an email address: {_shown(text)}",
                         "an email has one @, at most 254 characters, no spaces, control or bidi characters")
    return email


@users_app.command("add")
def users_add(
    email: str,
    group: Annotated[list[str] | None, typer.Option(
        "--group", metavar="GROUP", help="A group (repeat for more).")] = None,
    role: Annotated[Role | None, typer.Option(metavar="ROLE", help="user, approver or admin.")] = None,
    data_dir: DataDirOpt = None, db: DbOpt = None,
) -> None:
    """Add a user and print a fresh one-time enrollment code as the last line.

    For an existing user (another device): --group and --role, when given, replace its groups and
    role (and say so on stderr); without them, groups and role stay as they are.
    """
    from aigate.server.text import clean_label

    groups = [g.strip() for g in group] if group else None
    if groups is not None and not all(groups):
        raise UsageError("a group name cannot be empty")
    if groups is not None and any(clean_label(g) != g for g in groups):
        raise UsageError(f"a group name cannot hold control or bidi characters: {groups!r}")
    _, engine = open_engine(data_dir, db)
    changed: list[str] = []
    user, code = write_now(engine, identity.add_user_job(_email(email), groups, role, cli_actor(), changed))
    if changed:
        say(f"updated {user.email}: {', '.join(changed)}")
    typer.echo(f"user {user.email} (role {user.role.value}, groups {', '.join(user.groups) or '-'})")
    typer.echo("enrollment code (works once, for 24 hours; give it to the user for `aigate login --code`):")
    typer.echo(code)


def _set_disabled(email: str, disabled: bool, data_dir: Path | None, db: str | None) -> None:
    _, engine = open_engine(data_dir, db)
    try:
        user = write_now(engine, identity.set_disabled_job(_email(email), disabled, cli_actor()))
    except LookupError:
        raise AigateError(f"no user {email.strip().lower()}", "list them with `aigate-server users list`") from None
    typer.echo(f"user {user.email} {'disabled: all of its devices stop working' if disabled else 'enabled'}")


@users_app.command("disable")
def users_disable(email: str, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Disable a user: every one of their devices stops working at once."""
    _set_disabled(email, True, data_dir, db)


@users_app.command("enable")
def users_enable(email: str, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Enable a disabled user again."""
    _set_disabled(email, False, data_dir, db)


@users_app.command("list")
def users_list(data_dir: DataDirOpt = None, db: DbOpt = None,
               as_json: Annotated[bool, typer.Option(
                   "--json", help="Print the users as one JSON array on stdout.")] = False) -> None:
    """List users: email, role, groups, state and active devices."""
    _, engine = open_engine(data_dir, db)
    with engine.connect() as conn:
        rows = identity.list_users(conn)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "disabled" if row["disabled"] else "active"
        typer.echo(f"{row['email']}\t{row['role']}\t{','.join(row['groups']) or '-'}\t{state}\t"
                   f"{row['devices']} device(s)")


@users_app.command("devices")
def users_devices(email: str, data_dir: DataDirOpt = None, db: DbOpt = None,
                  as_json: Annotated[bool, typer.Option(
                      "--json", help="Print the devices as one JSON array on stdout.")] = False) -> None:
    """List a user's devices: id, state, enrolled, name and platform (revoke one with `users revoke-device ID`)."""
    from aigate.constants import rfc3339
    from aigate.server.device_admin import list_devices

    _, engine = open_engine(data_dir, db)
    with engine.connect() as conn:
        rows = list_devices(conn, _email(email))
    if rows is None:
        raise AigateError(f"no user {email.strip().lower()}", "list them with `aigate-server users list`")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        say(f"{email.strip().lower()} has no device (give them an enrollment code: `aigate-server users add EMAIL`)")
    for row in rows:
        state = "active" if row["revoked_at"] is None else f"revoked {rfc3339(row['revoked_at'])}"
        typer.echo(f"{row['id']}\t{state}\tenrolled {rfc3339(row['created_at'])}\t{row['name'] or '-'}\t"
                   f"{row['platform'] or '-'}")


@users_app.command("revoke-device")
def users_revoke_device(device_id: Annotated[str, typer.Argument(metavar="ID")],
                        data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Revoke one device: its credential stops working at once; the user's other devices keep working."""
    from aigate.server.device_admin import revoke_device_job

    _, engine = open_engine(data_dir, db)
    try:
        email = write_now(engine, revoke_device_job(device_id.strip(), cli_actor()))
    except LookupError:
        raise AigateError(f"no device {_shown(device_id)}", "list a user's devices with "
                          "`aigate-server users devices EMAIL`") from None
    typer.echo(f"device {device_id.strip()} of {email} revoked: its credential no longer works")


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(metavar="FILE")]) -> None:
    """Check a policy file; print each mistake with its line (exit 1 when there is one)."""
    from aigate.server.policy import NO_RULES_WARNING, PolicyError, load_policy

    try:
        policy = load_policy(file)
    except PolicyError as err:
        for problem in err.problems:
            say(f"{file}: {problem}")
        raise AigateError(f"{file}: {len(err.problems)} mistake(s)") from None
    for warning in policy.warnings:
        say(f"{file}: warning: {warning}")
    if not policy.rules:
        say(f"{file}: warning: {NO_RULES_WARNING}")
    typer.echo(f"{file}: ok ({len(policy.rules)} rule(s); tools: {', '.join(sorted(policy.tools))})")


@key_app.command("rotate")
def key_rotate(data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Make a new signing key current; the old one stays in the JWKS until its tokens expired."""
    from aigate.server.signing import create_key, read_manifest

    settings, engine = open_engine(data_dir, db)
    old = read_manifest(settings.data_dir).get("current")
    kid = create_key(settings.data_dir, int(time.time()))
    write_now(engine, lambda conn, now: (None, [AuditEvent(cli_actor(), "signing_key.rotated", kid,
                                                           {"previous": old})]))
    typer.echo(f"new signing key {kid}; {old} stays published until the tokens it signed have expired")


@audit_app.command("export")
def audit_export(since: Annotated[int, typer.Option(min=0, metavar="SEQ", help="Export events after this seq.")] = 0,
                 data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Write audit events as JSON Lines (one JSON object per line, streamed) to stdout; report the chain
    head reached on stderr."""
    _, engine = open_engine(data_dir, db)
    last_seq, last_hash = since, None
    with engine.connect() as conn:
        for row in audit.iter_events(conn, since):
            typer.echo(audit.export_line(row))
            last_seq, last_hash = row["seq"], row["hash"]
        if last_hash is None:
            last_seq, last_hash = audit.lock_head(conn) if since == 0 else _hash_at(conn, since)
    say(f"chain head: seq {last_seq} hash {last_hash}")
    say(f"check it later with: aigate-server audit verify --head {last_seq}:{last_hash}")
    say(f"resume with: aigate-server audit export --since {last_seq}")


def _hash_at(conn: Connection, seq: int) -> tuple[int, str]:
    from sqlalchemy import select

    from aigate.server.models import audit_events

    found = conn.execute(select(audit_events.c.hash).where(audit_events.c.seq == seq)).scalar()
    return seq, found or audit.GENESIS_HASH


@audit_app.command("verify")
def audit_verify(head: Annotated[str | None, typer.Option(
                     metavar="SEQ:HASH",
                     help="A chain head exported earlier: HASH, or SEQ:HASH as `audit export` prints it.")] = None,
                 data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Prove the chain is whole (and, with --head, that nothing up to that head was rewritten)."""
    head_hash, head_seq = _parse_head(head) if head else (None, None)
    _, engine = open_engine(data_dir, db)
    with engine.connect() as conn:
        result = audit.verify(conn, head_hash, head_seq)
    if result.head_unknown:
        say(f"audit chain whole: {result.count} event(s), head seq {result.head_seq} hash {result.head_hash}")
        raise AigateError(result.problem or "head not in this chain",
                          "check that the head came from this server's `audit export`; if it did, restore "
                          "the database from a backup and compare with that export")
    if not result.ok:
        raise AigateError(f"audit chain broken: {result.problem}",
                          "restore the database from a backup and compare with an earlier export")
    typer.echo(f"audit chain whole: {result.count} event(s), head seq {result.head_seq} hash {result.head_hash}")
    if head:
        typer.echo(f"head {head_hash} is part of this chain: nothing up to it was rewritten")


def _parse_head(text: str) -> tuple[str, int | None]:
    """``HASH`` or ``SEQ:HASH`` -> (hash, seq or None); UsageError (2) for anything else."""
    import re

    match = re.fullmatch(r"\s*(?:(\d+):)?([0-9a-fA-F]{64})\s*", text)
    if not match:
        raise UsageError(f"--head {text!r} is not a chain head",
                         "give the 64-hex-digit hash (or SEQ:HASH) that `aigate-server audit export` printed")
    return match.group(2).lower(), int(match.group(1)) if match.group(1) else None
