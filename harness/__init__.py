"""What the tests, the benchmarks and the demo share: a real aigate-server process, a throwaway
PostgreSQL cluster, the coding tools' environment, and a stand-in for the vendors' APIs. Not shipped.
"""
