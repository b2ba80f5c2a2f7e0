"""Free text from clients: what the server refuses (reasons) and what it cleans (labels).

A reason (access request, deny, revoke) is shown to approvers and kept in the audit log, so it must
be readable as written: no whitespace-only text, no control characters but newline and tab, no line
or paragraph separators, bidi overrides or isolates, or invisible characters, which can make a
terminal or a page show text other than what is stored (:data:`aigate.constants.TEXT_FORBIDDEN`).
Labels and names (device name, platform, host, tool, ids) refuse tab and newline too
(:data:`~aigate.constants.LABEL_FORBIDDEN`). The wire shapes carry both rules as schema patterns, so
FastAPI refuses such text with 422 before a route runs and the OpenAPI says so; the checks here are
the same rules for text that arrives another way. No text with a NUL reaches the database
(PostgreSQL refuses it in text columns); :func:`refuse_nul` says which field had one.
"""

from __future__ import annotations

import re

from aigate.constants import LABEL_FORBIDDEN, TEXT_FORBIDDEN
from aigate.protocol import ProblemCode
from aigate.server.problems import ApiProblem

_FORBIDDEN = re.compile(f"[{TEXT_FORBIDDEN}]")
_LABEL_FORBIDDEN = re.compile(f"[{LABEL_FORBIDDEN}]")


def problem_in_text(value: str) -> str | None:
    """Why ``value`` is not acceptable free text, or None."""
    if not value.strip():
        return "must not be empty or only whitespace"
    found = _FORBIDDEN.search(value)
    if found:
        return f"must not contain the control, separator, bidi or invisible character U+{ord(found.group()):04X}"
    return None


def check_text(field: str, value: str | None) -> str | None:
    """``value`` unchanged, or ApiProblem 422 naming ``field`` (see :func:`problem_in_text`)."""
    if value is None:
        return None
    why = problem_in_text(value)
    if why:
        raise ApiProblem(422, ProblemCode.INVALID_REQUEST, f"{field}: {why}")
    return value


def clean_label(value: str) -> str:
    """``value`` without control, separator, bidi and invisible characters, trimmed."""
    return _LABEL_FORBIDDEN.sub("", value).strip()


def refuse_nul(**fields: str | None) -> None:
    """ApiProblem 422 naming the first field that holds a NUL character."""
    for name, value in fields.items():
        if value is not None and "\x00" in value:
            raise ApiProblem(422, ProblemCode.INVALID_REQUEST, f"{name}: must not contain a NUL character")
