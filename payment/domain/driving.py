"""Which replies a payment owes, and when it has to be driven: payment accepts a command at once and answers it
once the processor has (see ``payment.driving``). No framework imports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from payment.domain.payments import PaymentStatus

TO_DRIVE = frozenset({PaymentStatus.PENDING, PaymentStatus.REFUNDING})
"""A payment in one of these states has a step left with the processor: a driver takes it there."""


class Command(StrEnum):
    """The two commands a payment answers."""

    CHARGE = "charge"
    REFUND = "refund"


def accepted(status: PaymentStatus, command: Command) -> tuple[PaymentStatus, bool]:
    """The payment's status once ``command`` is accepted, and whether it is answered now (else by its driver).

    A charge is answered now unless it is still being made. A refund of a charge that succeeded makes the
    payment REFUNDING; a refund of a charge still being made waits for it (a refund never overtakes its charge);
    a refund of a payment that was never charged (declined, cancelled) or is refunded already is answered now.
    """
    if command is Command.CHARGE:
        return status, status is not PaymentStatus.PENDING
    if status is PaymentStatus.SUCCEEDED:
        return PaymentStatus.REFUNDING, False
    return status, status not in TO_DRIVE


@dataclass(frozen=True)
class Settled:
    """Where a driven payment rests after a step with the processor, and which owed replies go now."""

    status: PaymentStatus
    answer_charge: bool
    answer_refund: bool


def settled(status: PaymentStatus, *, charge_owed: bool, refund_owed: bool) -> Settled:
    """After a step ended in ``status``: an owed charge reply goes now; a refund that arrived while the charge
    was being made turns a success into REFUNDING (driven again, answered then), else is answered now."""
    if status is PaymentStatus.SUCCEEDED and refund_owed:
        return Settled(PaymentStatus.REFUNDING, answer_charge=charge_owed, answer_refund=False)
    return Settled(status, answer_charge=charge_owed, answer_refund=refund_owed and status not in TO_DRIVE)
