"""Every change this project makes to localstripe's own code, in one place (runs in the emulator's venv).

* The store no longer pickles itself to ``/tmp/localstripe.pickle`` on every item assignment (several
  times per API call, each O(store size): ~0.3 s per payment after 1000 payments); ``journal`` persists it.
* With a journal: store mutations mark the request dirty, ``resources.time`` becomes the journal's clock
  (frozen per request, for a deterministic replay), webhooks are not re-sent while the journal replays,
  and the journal's middleware runs first on every request.
* The store is indexed by object type (see :func:`_index_by_type`).
* Stripe's test payment method ``pm_card_visa_chargeDeclinedInsufficientFunds`` exists: charging it is declined
  with "Your card has insufficient funds." (see :func:`_insufficient_funds`).
"""

from __future__ import annotations

from typing import Any

from infra.localstripe.journal import Journal


def apply(resources: Any, app: Any, web: Any, journal: Journal | None) -> None:
    """Patch ``localstripe.resources`` and its aiohttp ``app``; ``journal`` None keeps the store in memory."""
    store_cls = resources.Store
    store_cls.try_load_from_disk = store_cls.dump_to_disk = lambda self: None
    if journal is None:
        store_cls.__setitem__, store_cls.__delitem__ = dict.__setitem__, dict.__delitem__
    else:
        _track_mutations(store_cls, journal)
        resources.time = journal.clock
        real_schedule = resources.schedule_webhook

        def schedule_webhook(event: Any) -> None:
            if not journal.replaying:
                real_schedule(event)

        resources.schedule_webhook = schedule_webhook
        app.middlewares.insert(0, journal.middleware(web))
    _index_by_type(resources)
    _insufficient_funds(resources)


def _track_mutations(store_cls: Any, journal: Journal) -> None:
    def setitem(self: dict[str, Any], key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        journal.dirty = True

    def delitem(self: dict[str, Any], key: str) -> None:
        dict.__delitem__(self, key)
        journal.dirty = True

    def clear(self: dict[str, Any]) -> None:
        dict.clear(self)
        journal.dirty = True

    store_cls.__setitem__, store_cls.__delitem__, store_cls.clear = setitem, delitem, clear


def _index_by_type(resources: Any) -> None:
    """Index the store by object type, so listing one type does not scan every object.

    localstripe lists by scanning the whole store (``StripeObject._api_list_all``), and exporting a Charge
    lists its refunds, so every confirm cost O(store size): after a few thousand payments the emulator was
    the busiest process of a benchmark run. Wraps whatever store hooks are installed, and indexes what the
    store already holds (a loaded snapshot).
    """
    store_cls, store = resources.Store, resources.store
    index: dict[str, dict[str, None]] = {}
    set_item, del_item, clear = store_cls.__setitem__, store_cls.__delitem__, store_cls.clear

    def setitem(self: dict[str, Any], key: str, value: Any) -> None:
        set_item(self, key, value)
        index.setdefault(key.split(":", 1)[0], {})[key] = None

    def delitem(self: dict[str, Any], key: str) -> None:
        del_item(self, key)
        index.get(key.split(":", 1)[0], {}).pop(key, None)

    def clear_all(self: dict[str, Any]) -> None:
        clear(self)
        index.clear()

    def list_all(cls: Any, /, url: str, limit: Any = None, starting_after: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        listing = resources.List(url, limit=limit, starting_after=starting_after)
        listing._list = [store[key] for key in index.get(cls.object, {})]  # store order, as upstream
        return listing

    for key in store:
        index.setdefault(key.split(":", 1)[0], {})[key] = None
    store_cls.__setitem__, store_cls.__delitem__, store_cls.clear = setitem, delitem, clear_all
    resources.StripeObject._api_list_all = classmethod(list_all)


INSUFFICIENT_FUNDS = "pm_card_visa_chargeDeclinedInsufficientFunds"
_INSUFFICIENT_FUNDS_CARD = "4000000000009995"  # Stripe's test card for it


def _insufficient_funds(resources: Any) -> None:
    """Stripe's ``pm_card_visa_chargeDeclinedInsufficientFunds`` (localstripe knows only a generic decline):
    the card is created on first use like localstripe's other test methods, and a charge on it fails with
    Stripe's own message for it."""
    methods, charges = resources.PaymentMethod, resources.Charge
    canonical = methods._try_get_canonical_test_article
    charging_is_declined = methods._charging_is_declined
    set_auth_failure = charges._set_auth_failure

    def try_get_canonical_test_article(cls: Any, id: str) -> Any:
        if id == INSUFFICIENT_FUNDS:
            card = {"number": _INSUFFICIENT_FUNDS_CARD, "exp_month": "12", "exp_year": "2030", "cvc": "123"}
            return cls(type="card", card=card)
        return canonical(id)

    def declined(self: Any) -> bool:
        return bool(getattr(self, "_card_number", None) == _INSUFFICIENT_FUNDS_CARD or charging_is_declined(self))

    def set_failure(self: Any) -> None:
        set_auth_failure(self)
        if getattr(methods._api_retrieve(self.payment_method), "_card_number", None) == _INSUFFICIENT_FUNDS_CARD:
            self.failure_message = "Your card has insufficient funds."

    methods._try_get_canonical_test_article = classmethod(try_get_canonical_test_article)
    methods._charging_is_declined = declined
    charges._set_auth_failure = set_failure
