"""aigate-server: the approval server (FastAPI, SQLAlchemy, Alembic).

Imports nothing of the client but :mod:`aigate.protocol`, :mod:`aigate.constants` and
:mod:`aigate.errors`; the client never imports this package, so a laptop never loads FastAPI or SQLAlchemy.
"""
