"""Helpers shared by the test tiers: a throwaway PostgreSQL (``postgres``), a real ``aigate-server``
process (``server``), and stand-ins for the vendors' APIs."""
