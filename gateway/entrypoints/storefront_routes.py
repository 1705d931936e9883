"""Every route of the storefront (pages for people, not part of the API document)."""

from __future__ import annotations

from typing import Any

from gateway.entrypoints.login import LOGIN_ROUTES
from gateway.entrypoints.static_files import STATIC_ROUTES
from gateway.entrypoints.storefront import SHOP_ROUTES
from gateway.entrypoints.storefront_orders import ORDER_ROUTES

STOREFRONT_ROUTES: list[Any] = [*LOGIN_ROUTES, *SHOP_ROUTES, *ORDER_ROUTES, *STATIC_ROUTES]
