"""The base of every settings object: environment variables read and validated by pydantic-settings.

A settings class lists its variables as typed fields (``RV_`` + the field's name upper-cased, unless the field
names its variable with ``validation_alias``); ``load()`` reads them and turns every invalid value into one
:class:`ConfigurationError` line naming the variable and the form it expects. ``docs/configuration.md`` is
generated from these classes (``python -m tools.configuration generate``).
"""

from __future__ import annotations

import re
import sys
from typing import Any, NoReturn, Self

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

PREFIX = "RV_"


class ConfigurationError(ValueError):
    """A variable has a value its settings refuse; the message names it and says what is expected."""


class Settings(BaseSettings):
    """Settings read once from the environment; immutable."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="ignore")

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable that sets ``field``."""
        return variable_of(field, cls.model_fields[field])

    @classmethod
    def load(cls) -> Self:
        """Read and validate the environment; ``ConfigurationError`` (one line) when a value does not fit."""
        try:
            return cls()
        except ValidationError as error:
            raise ConfigurationError(describe(cls, error)) from None
        except SettingsError as error:  # a value that should be JSON is not
            field = re.search(r'field "(\w+)"', str(error))
            name = cls.variable(field.group(1)) if field and field.group(1) in cls.model_fields else "a variable"
            raise ConfigurationError(f"{name}: expected JSON") from None

    @classmethod
    def load_or_exit(cls) -> Self:
        """:meth:`load`, or print the one-line error to stderr and exit with status 2 (a process's start)."""
        try:
            return cls.load()
        except ConfigurationError as error:
            exit_for(error)


def exit_for(error: ValueError) -> NoReturn:
    """Print ``configuration error: <error>`` (one line) to stderr and exit with status 2."""
    print(f"configuration error: {error}", file=sys.stderr)
    raise SystemExit(2) from None


def variable_of(name: str, field: FieldInfo) -> str:
    """The environment variable of a field called ``name``."""
    alias = field.validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


_SECRET = ("password", "secret", "key", "database_url")
"""Variables whose values never appear in an error: a database URL carries its role's password."""


def describe(settings: type[Settings], error: ValidationError) -> str:
    """Every problem in ``error`` as ``VARIABLE=value: what is wrong`` (secrets never shown), joined by "; ";
    one problem per variable (the first), so a value that fits no member of a union is one problem, not one
    per member."""
    # A default not computed is a consequence of another error, reported itself.
    items = [item for item in error.errors(include_url=False) if item["type"] != "default_factory_not_called"]
    problems = []
    named: set[str] = set()
    for item in items:
        loc = [str(part) for part in item["loc"]]
        field = loc[0] if loc else ""
        if field in settings.model_fields:
            name = settings.variable(field)
        else:
            name = next((variable_of(n, f) for n, f in settings.model_fields.items() if field == variable_of(n, f)), "")
        message = str(item["msg"]).removeprefix("Value error, ")
        if not name:
            problems.append(message)
            continue
        if name in named:
            continue
        named.add(name)
        members = [str(other["loc"][-1]) for other in items if len(loc) > 2 and other["loc"][:-1] == item["loc"][:-1]]
        if len(members) > 1:  # an entry inside the value (a JSON object's) that fits no member of its union
            expected = ", ".join(members[:-1]) + f" or {members[-1]}"
            problems.append(f"{name}: {loc[-2]!r} should be {expected}")
            continue
        shown = "" if any(word in name.lower() for word in _SECRET) else f"={_shown(item.get('input'))}"
        problems.append(f"{name}{shown}: {message}")
    return "; ".join(problems)


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else repr(str(value))
