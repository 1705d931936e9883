"""Conditional requests on a product: its revision is its ``ETag``, and a count must carry it in ``If-Match``."""

from __future__ import annotations

import re
from typing import Annotated

from litestar.datastructures import ResponseHeader
from litestar.params import HeaderParameter

from catalog.domain.products import Product
from plumbing.http import FieldProblem

IF_MATCH = "If-Match"
_ETAG = re.compile(r'^"([0-9]{1,18})"$')

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name=IF_MATCH,
        required=False,
        schema_extra={"pattern": _ETAG.pattern},  # checked by ``required_revision``, so a 400 names the header
        description='The revision the change was decided on: the product\'s `ETag` (`"7"`). 428 without it.',
    ),
]

ETAG_HEADER = ResponseHeader(
    name="ETag",
    value='"7"',  # documents the header as a string; each response sets its own
    documentation_only=True,
    required=True,
    description='The product\'s revision, quoted (`"7"`): what `If-Match` must carry to change it.',
)


def etag(product: Product) -> dict[str, str]:
    """The ``ETag`` header of ``product``: its revision, quoted."""
    return {"ETag": f'"{product.revision}"'}


def required_revision(if_match: str | None) -> int:
    """The revision an ``If-Match`` header names: 428 when it is missing, 400 unless it is one of our ETags.

    A weak tag, ``*`` or a list cannot name the one revision a count was made against.
    """
    if if_match is None:
        raise FieldProblem(IF_MATCH, "required: the product's ETag from GET /products/{sku}", status_code=428)
    etag = _ETAG.fullmatch(if_match)
    if etag is None:
        raise FieldProblem(IF_MATCH, 'must be the product\'s ETag, one quoted revision such as "7"', status_code=400)
    return int(etag.group(1))
