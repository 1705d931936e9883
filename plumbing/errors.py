"""Errors a handler raises to say a message must not be applied."""

from __future__ import annotations


class Unprocessable(Exception):
    """The message is well-formed but can never be applied here (unknown order, impossible state).

    The consumer dead-letters it with this reason instead of retrying it forever.
    """


class RetryLater(Exception):
    """A dependency outside the database (e.g. Stripe) is unavailable; retry the batch with backoff."""


class NotFound(LookupError):
    """What a use case was asked about does not exist; over HTTP, a 404 problem whose detail is the message."""
