"""Finding the line of a setting in policy TOML text, so ``policy check`` can say where a mistake is.

tomllib gives values without positions; this scans the text for table headers and ``key =`` lines.
It understands what policy files use: ``[table]``, ``[[array]]`` and ``key = value`` lines.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


class LineFinder:
    """1-based line numbers of headers and keys in one TOML text; unknown places give the nearest
    enclosing header, or line 1."""

    def __init__(self, text: str):
        self.sections: list[tuple[str, int, int, dict[str, int]]] = []  # (name, index, line, keys)
        counts: dict[str, int] = {}
        current: dict[str, int] = {}
        self.sections.append(("", 0, 1, current))
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                name = header.group(2).replace('"', "").replace("'", "")
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = {}
                self.sections.append((name, index, number, current))
                continue
            key = _KEY.match(line)
            if key:
                current.setdefault(key.group(1).strip("\"'"), number)

    def _section(self, name: str, index: int = 0) -> tuple[int, dict[str, int]] | None:
        for section, i, line, keys in self.sections:
            if section == name and i == index:
                return line, keys
        return None

    def top(self, key: str) -> int:
        return self.sections[0][3].get(key, 1)

    def table(self, name: str) -> int:
        found = self._section(name)
        return found[0] if found else 1

    def key_in_table(self, name: str, key: str) -> int:
        found = self._section(name)
        return found[1].get(key, found[0]) if found else 1

    def array_table(self, name: str, index: int) -> int:
        found = self._section(name, index)
        return found[0] if found else 1

    def key_in_array_table(self, name: str, index: int, key: str) -> int:
        found = self._section(name, index)
        return found[1].get(key, found[0]) if found else 1

    def env_key(self, table: str, key: str, fallback: int) -> int:
        """The line of ``key`` in a ``[TABLE.env]`` table, else ``fallback`` (an inline ``env = {...}``)."""
        found = self._section(f"{table}.env")
        return found[1].get(key, found[0]) if found else fallback
