"""How a name from params.yaml, a data file or a model file is shown in a message, a report or a picture."""

from __future__ import annotations

import re

# What never reaches a report or a terminal as written: control characters (NUL, newline, CR, ESC, BEL, DEL,
# C1), Unicode line breaks, and the bidirectional overrides (the data stage refuses names holding any of them).
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """``text`` with each character of UNPRINTABLE written as Python writes it in a string (``\\x1b``, ``\\n``)."""
    return UNPRINTABLE.sub(lambda found: repr(found[0])[1:-1], str(text))
