"""Free text from clients: what the server refuses (reasons) and what it cleans (labels).

A reason (access request, deny, revoke) is shown to approvers and kept in the audit log, so it must
be readable as written: no whitespace-only text, no control characters but newline and tab, and no
Unicode bidi overrides or isolates (U+202A-U+202E, U+2066-U+2069), which can make a terminal show
text other than what is stored. Labels a client reports about itself (device name, platform, host)
are cleaned instead: those characters are removed. No text with a NUL reaches the database
(PostgreSQL refuses it in text columns); :func:`refuse_nul` says which field had one.
"""

from __future__ import annotations

import re

from aigate.protocol import ProblemCode
from aigate.server.problems import ApiProblem

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 controls but \t and \n, DEL, C1 controls, and the bidi overrides and isolates
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "]")
_LABEL_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f" + BIDI_CONTROLS + "]")


def problem_in_text(value: str) -> str | None:
    """Why ``value`` is not acceptable free text, or None."""
    if not value.strip():
        return "must not be empty or only whitespace"
    found = _FORBIDDEN.search(value)
    if found:
        return f"must not contain the control or bidi character U+{ord(found.group()):04X}"
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
    """``value`` without control and bidi characters, trimmed."""
    return _LABEL_FORBIDDEN.sub("", value).strip()


def refuse_controls(**fields: str | None) -> None:
    """ApiProblem 422 naming the first field that holds a control character (names, not free text)."""
    for name, value in fields.items():
        found = value and _LABEL_FORBIDDEN.search(value)
        if found:
            raise ApiProblem(422, ProblemCode.INVALID_REQUEST,
                             f"{name}: must not contain the control character U+{ord(found.group()):04X}")


def refuse_nul(**fields: str | None) -> None:
    """ApiProblem 422 naming the first field that holds a NUL character."""
    for name, value in fields.items():
        if value is not None and "\x00" in value:
            raise ApiProblem(422, ProblemCode.INVALID_REQUEST, f"{name}: must not contain a NUL character")
