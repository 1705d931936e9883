"""The ``retrovault`` command line's settings: where each service's HTTP API is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr

from plumbing.configuration import Settings
from plumbing.settings import service_url


def _url_field(service: str) -> Any:
    return Field(
        None,
        pattern=r"^https?://\S+$",
        description=f"base URL of the {service} service's HTTP API; unset: the local stack's `http://127.0.0.1:<RV_{service.upper()}_PORT>`",
    )


class CliSettings(Settings):
    """The services' base URLs (``RV_<SERVICE>_URL``); unset, the local stack's."""

    catalog_url: str | None = _url_field("catalog")
    orders_url: str | None = _url_field("orders")
    payment_url: str | None = _url_field("payment")
    coordinator_url: str | None = _url_field("coordinator")
    gateway_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="base URL of the gateway: set, every command goes through it (its `/api` routes) with "
        "`RV_TOKEN`; unset: straight to the services (`auth token` uses the local stack's gateway)",
    )
    token: SecretStr | None = Field(
        None, description="the access token commands send (`export RV_TOKEN=$(retrovault auth token --role operator)`)"
    )

    cli_session_file: Path | None = Field(
        None,
        description="where `retrovault login` keeps the gateway and token later commands use (mode 0600); "
        "unset: `$XDG_CONFIG_HOME/retrovault/session.json`, else `~/.config/retrovault/session.json`",
    )

    def session_file(self) -> Path:
        """Where ``retrovault login`` keeps its session."""
        if self.cli_session_file is not None:
            return self.cli_session_file
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "retrovault" / "session.json"

    def url(self, service: str) -> str:
        """The base URL of ``service``'s HTTP API."""
        configured: str | None = getattr(self, f"{service}_url")
        return configured or service_url(service)


def cli_settings() -> CliSettings:
    """The settings as the environment has them; a value that does not fit ends the command with one line."""
    return CliSettings.load_or_exit()
