"""Server settings: where the data dir, database and policy are, and the public URL.

Resolved in this order: command-line options, then the environment (``AIGATE_SERVER_DATA_DIR``,
``AIGATE_SERVER_DB``; ``serve`` also passes ``AIGATE_SERVER_POLICY`` and ``AIGATE_SERVER_PUBLIC_URL``
to its worker processes this way), then defaults (the platform's user data dir, SQLite in it, the
``policy.toml`` that ``init`` wrote there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_DATA_DIR = "AIGATE_SERVER_DATA_DIR"
ENV_DB = "AIGATE_SERVER_DB"
ENV_POLICY = "AIGATE_SERVER_POLICY"
ENV_PUBLIC_URL = "AIGATE_SERVER_PUBLIC_URL"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def default_db_url(data_dir: Path) -> str:
    """The embedded SQLite database of a data dir: ``sqlite:///DATA_DIR/aigate.db``."""
    return f"sqlite:///{data_dir / 'aigate.db'}"


def default_data_dir() -> Path:
    """The platform's user data dir for ``aigate-server`` (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("aigate-server", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Where the server keeps its data: ``data_dir``, ``db_url`` (SQLAlchemy URL), ``policy_path``, and
    ``public_url`` (the tokens' ``iss``, without a trailing slash)."""
    data_dir: Path
    db_url: str
    policy_path: Path
    public_url: str

    @classmethod
    def resolve(cls, data_dir: str | Path | None = None, db_url: str | None = None,
                policy: str | Path | None = None, public_url: str | None = None) -> Settings:
        """Settings from explicit values, falling back to the environment and then to defaults."""
        folder = Path(data_dir or os.environ.get(ENV_DATA_DIR) or default_data_dir()).expanduser().absolute()
        url = db_url or os.environ.get(ENV_DB) or default_db_url(folder)
        policy_path = Path(policy or os.environ.get(ENV_POLICY) or folder / "policy.toml").expanduser()
        public = public_url or os.environ.get(ENV_PUBLIC_URL) or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
        return cls(folder, url, policy_path.absolute(), public.rstrip("/"))

    def export(self) -> dict[str, str]:
        """The environment that makes :meth:`resolve` give these settings in a worker process."""
        return {ENV_DATA_DIR: str(self.data_dir), ENV_DB: self.db_url, ENV_POLICY: str(self.policy_path),
                ENV_PUBLIC_URL: self.public_url}
