"""How patient each saga action is, read from the environment (so tests and operators can change it).

| variable | default | what |
|---|---|---|
| ``RV_SAGA_REPLY_TIMEOUT_S`` | 10 | wait before the first re-send; doubled at each re-send |
| ``RV_SAGA_BACKOFF_MAX_S`` | 60 | the longest wait between two re-sends |
| ``RV_SAGA_RESERVE_BUDGET_S`` | 1800 | how long stock is waited for before the order is rejected |
| ``RV_SAGA_CHARGE_BUDGET_S`` | 1800 | how long a charge is waited for before the order is rolled back (refunded) |

Steps after the pivot and compensations have no budget: they are re-sent until their participant answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from coordinator.engine.definition import Patience, RetryPolicy
from coordinator.sagas.create_order import charge_payment, reserve_stock
from plumbing.settings import env


@dataclass(frozen=True)
class PatienceSettings:
    """The environment's say on how long sagas wait (seconds)."""

    reply_timeout_s: float = 10.0
    backoff_max_s: float = 60.0
    reserve_budget_s: float = 1800.0
    charge_budget_s: float = 1800.0

    @classmethod
    def from_env(cls) -> PatienceSettings:
        """Read the ``RV_SAGA_*`` variables (defaults above)."""
        defaults = cls()
        return cls(
            reply_timeout_s=float(env("RV_SAGA_REPLY_TIMEOUT_S", str(defaults.reply_timeout_s))),
            backoff_max_s=float(env("RV_SAGA_BACKOFF_MAX_S", str(defaults.backoff_max_s))),
            reserve_budget_s=float(env("RV_SAGA_RESERVE_BUDGET_S", str(defaults.reserve_budget_s))),
            charge_budget_s=float(env("RV_SAGA_CHARGE_BUDGET_S", str(defaults.charge_budget_s))),
        )


def create_order_policy(settings: PatienceSettings) -> RetryPolicy:
    """CreateOrder's patience: the steps before the pivot and the pivot (the charge) wait for their budget, then
    the order rolls back; everything else (approving a paid order, every compensation) waits until answered."""
    forever = Patience(settings.reply_timeout_s, settings.backoff_max_s, budget_s=None)
    return RetryPolicy(
        default=forever,
        actions={
            reserve_stock.name: replace(forever, budget_s=settings.reserve_budget_s),
            charge_payment.name: replace(forever, budget_s=settings.charge_budget_s),
        },
    )
