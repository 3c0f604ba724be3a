"""Free text a person types (a name, an address line), checked once where it comes in.

Such text ends up in other places: a mail's headers and body, a log line, a page. A line
break or another control character in a name was accepted by identity and then made every
mail to that customer fail in notifications (a dead letter, and `mercato verify` failing
for ever). ``OneLine(n)`` is a pydantic type for such a field: at most ``n`` characters,
not blank, on one line, with no control character; the 422 names the field and says so.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr
from pydantic_core import PydanticCustomError


def _one_line(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    # Cc: control characters (line breaks, tabs, NUL); Zl, Zp: Unicode line and paragraph
    # separators, which some mail and log readers break lines at too.
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise PydanticCustomError(
            "one_line", "must be one line, without line breaks or control characters")
    return value


def OneLine(max_length: int) -> type[str]:
    """A field of free text: 1 to ``max_length`` characters, one line, not blank."""
    return Annotated[StrictStr, Field(min_length=1, max_length=max_length),  # type: ignore
                     AfterValidator(_one_line)]
