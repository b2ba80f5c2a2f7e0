"""Fixtures every tier may use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.postgres import find_bin_dir, start_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL cluster started for this test session (skips when unavailable)."""
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed")
    cluster = start_postgres(fast=True)
    try:
        yield cluster.url
    finally:
        cluster.stop()
