"""The ``aigate`` command: typer and rich live here and nowhere else in the client."""
