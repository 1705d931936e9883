"""How patient each saga action is, read from the environment (``RV_SAGA_*``, see :class:`SagaPatience`, part
of the coordinator's settings) so tests and operators can change it.

Steps after the pivot and compensations have no budget: they are re-sent until their participant answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydantic import Field

from coordinator.engine.definition import Patience, RetryPolicy
from coordinator.sagas.create_order import charge_payment, reserve_stock
from plumbing.configuration import Settings


@dataclass(frozen=True)
class PatienceSettings:
    """The environment's say on how long sagas wait (seconds)."""

    reply_timeout_s: float = 10.0
    backoff_max_s: float = 60.0
    reserve_budget_s: float = 1800.0
    charge_budget_s: float = 1800.0

    @classmethod
    def from_env(cls) -> PatienceSettings:
        """Read the ``RV_SAGA_*`` variables (defaults above); a bad value ends the process with one line."""
        return SagaPatience.load_or_exit().patience()


_DEFAULT = PatienceSettings()


class SagaPatience(Settings):
    """The ``RV_SAGA_*`` variables (seconds)."""

    saga_reply_timeout_s: float = Field(
        _DEFAULT.reply_timeout_s, gt=0, description="wait before a saga's first re-send of a command; doubled at each"
    )
    saga_backoff_max_s: float = Field(_DEFAULT.backoff_max_s, gt=0, description="the longest wait between re-sends")
    saga_reserve_budget_s: float = Field(
        _DEFAULT.reserve_budget_s, gt=0, description="how long stock is waited for before the order is rejected"
    )
    saga_charge_budget_s: float = Field(
        _DEFAULT.charge_budget_s,
        gt=0,
        description="how long a charge is waited for before the order is rolled back (refunded)",
    )

    def patience(self) -> PatienceSettings:
        """The figures as the saga policy takes them."""
        return PatienceSettings(
            self.saga_reply_timeout_s, self.saga_backoff_max_s, self.saga_reserve_budget_s, self.saga_charge_budget_s
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
