"""``aigate keys set|list|delete``: scoped API keys in the OS keyring. Values are never printed."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from aigate import keystore
from aigate.cli.output import prompt_hidden, safe
from aigate.cli.state import CliState, state_of

app = typer.Typer(help="Scoped API keys in the OS keyring.\n\nExample: aigate keys set anthropic",
                  no_args_is_help=True)


@app.command("set")
def set_key(
    ctx: typer.Context,
    scope: Annotated[str, typer.Argument(metavar="SCOPE", help="The key scope, e.g. anthropic or openai.")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the key from standard input (for IT scripts).")] = False,
) -> None:
    """Store the API key for a scope (prompted with hidden input, or read from --stdin).

    Example: printf %s "$KEY" | aigate keys set anthropic --stdin
    """
    keystore.require_scope(scope)
    store = state_of(ctx).store()
    value = sys.stdin.read() if stdin else prompt_hidden(f"API key for {scope}", without_terminal=(
        f"no terminal to prompt for the key: pipe it in with aigate keys set {scope} --stdin"))
    masked = keystore.store_key(store, scope, value)
    typer.echo(f"Stored the key for {scope} ({masked}) in the keyring.", err=True)
    _warn_if_unused(state_of(ctx), scope)


def _warn_if_unused(state: CliState, scope: str) -> None:
    """Warn when no tool and no policy rule uses ``scope`` (a typo such as ``antropic``). The server is
    asked only about a scope that is neither a tool's default nor already stored."""
    from aigate import account
    from aigate.errors import AigateError

    if scope in account.scopes_in_use(None):
        return
    try:
        me = state.device().me()
    except AigateError:
        me = None  # not logged in, or the server cannot be reached: the defaults are all we know
    used = account.scopes_in_use(me)
    if scope not in used:
        typer.echo(f"aigate: warning: no tool and no policy here uses the key scope {scope!r} "
                   f"(in use: {', '.join(used)}); stored anyway, check the spelling", err=True)


@app.command("list")
def list_keys(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option(
        "--json", help='Print one JSON array on stdout: [{"scope", "stored", "masked"}].')] = False,
) -> None:
    """List the stored key scopes, each masked to at most its last 4 characters.

    Example: aigate keys list --json
    """
    keys = keystore.stored_keys(state_of(ctx).store())
    if as_json:
        typer.echo(json.dumps([{"scope": k.scope, "stored": k.masked is not None, "masked": k.masked} for k in keys],
                              ensure_ascii=False, indent=2))
        return
    if not keys:
        typer.echo("No keys stored. Add one with: aigate keys set SCOPE", err=True)
    for key in keys:
        typer.echo(f"{safe(key.scope)}\t{safe(key.masked) if key.masked else 'missing from the keyring'}")


@app.command("delete")
def delete_key(ctx: typer.Context, scope: Annotated[str, typer.Argument(
    metavar="SCOPE", help="The key scope.")]) -> None:
    """Delete the key for a scope from the keyring.

    Example: aigate keys delete anthropic
    """
    removed = keystore.delete_key(state_of(ctx).store(), keystore.require_scope(scope))
    typer.echo(f"Deleted the key for {scope}." if removed else f"No key was stored for {scope}.", err=True)
