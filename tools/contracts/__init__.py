"""Tooling for the message contracts: JSON Schema and AsyncAPI generation, and the compatibility check.

``python -m tools.contracts generate|check|compat``. The artefacts stay beside the messages they describe,
in ``contracts/generated/`` and ``contracts/released/``.
"""
