"""The approver console: server-rendered pages under ``/console`` (see :mod:`.routes`)."""
