"""``aigate keys set|list|delete``: scoped API keys in the OS keyring. Values are never printed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from aigate import keystore
from aigate.cli.app import app, state_of
from aigate.cli.output import prompt_hidden, safe
from aigate.constants import is_key_scope
from aigate.errors import UsageError

keys_app = typer.Typer(help="Scoped API keys in the OS keyring.\n\nExample: aigate keys set anthropic",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")

def check_scope(scope: str) -> str:
    if not is_key_scope(scope):
        raise UsageError(f"invalid key scope {scope!r}: use letters, digits, '.', '_' and '-' (like anthropic)")
    return scope


@keys_app.command("set")
def set_key(
    ctx: typer.Context,
    scope: Annotated[str, typer.Argument(help="The key scope, e.g. anthropic or openai.")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the key from standard input (for IT scripts).")] = False,
) -> None:
    """Store the API key for a scope (prompted with hidden input, or read from --stdin).

    Example: printf %s "$KEY" | aigate keys set anthropic --stdin
    """
    check_scope(scope)
    store = state_of(ctx).store()
    value = sys.stdin.read() if stdin else prompt_hidden(f"API key for {scope}", without_terminal=(
        f"no terminal to prompt for the key: pipe it in with aigate keys set {scope} --stdin"))
    value = value.strip()
    if not value:
        raise UsageError("the key is empty; nothing was stored")
    if any(c.isspace() for c in value):
        raise UsageError("the key contains whitespace; nothing was stored")
    store.set(keystore.key_entry(scope), value)
    keystore.record_scope(scope, True)
    typer.echo(f"Stored the key for {scope} ({keystore.mask(value)}) in the keyring.", err=True)


@keys_app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List the stored key scopes, each masked to at most its last 4 characters.

    Example: aigate keys list
    """
    store = state_of(ctx).store()
    scopes = keystore.stored_scopes()
    if not scopes:
        typer.echo("No keys stored. Add one with: aigate keys set SCOPE", err=True)
    for scope in scopes:
        value = store.get(keystore.key_entry(scope))
        typer.echo(f"{safe(scope)}\t{safe(keystore.mask(value)) if value else 'missing from the keyring'}")


@keys_app.command("delete")
def delete_key(ctx: typer.Context, scope: Annotated[str, typer.Argument(help="The key scope.")]) -> None:
    """Delete the key for a scope from the keyring.

    Example: aigate keys delete anthropic
    """
    check_scope(scope)
    removed = state_of(ctx).store().delete(keystore.key_entry(scope))
    keystore.record_scope(scope, False)
    typer.echo(f"Deleted the key for {scope}." if removed else f"No key was stored for {scope}.", err=True)
