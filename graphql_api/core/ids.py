"""Decoding global IDs from clients."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay

from backend.core.error_codes import CommonError


def decode_id(global_id: relay.GlobalID, type_name: str, *, field: str = "id") -> str:
    """The primary key inside ``global_id``; ``NOT_FOUND`` when it names another type.

    An ID from another clinic decodes fine but names no row here: the selector that loads
    it answers ``NOT_FOUND`` as well, so the two cases look the same to the caller.
    """
    node_id = global_id.node_id
    if (
        global_id.type_name != type_name
        or not (node_id.isascii() and node_id.isdigit())
        or len(node_id) > 18
    ):
        raise ValidationError(
            {
                field: ValidationError(
                    _("Nothing was found with this ID."), code=CommonError.NOT_FOUND
                )
            }
        )
    return node_id
