"""Development tooling: generators and checkers run by ``make lint`` and by hand, never imported by a service.

It is not part of the wheel (see ``[tool.setuptools.packages.find]`` in pyproject.toml).
"""
