"""RetroVault's benchmark: completed sagas per second and order-to-terminal latency, against the real stack.

``python -m bench`` (``make bench``) runs an open-loop sweep over offered rates, a second sweep with an
instant payment gateway, the same saga as a DBOS Transact workflow (the peer), and pgbench on the same
PostgreSQL server (the limit); results go to ``bench/results/``. Never part of ``make test``.
See docs/performance.md.
"""
