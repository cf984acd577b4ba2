"""Turning a file's untrusted bytes into text and JSON, with bounded time and memory.

`decode_text` honours a byte-order mark (UTF-8, UTF-16 and UTF-32, as Windows tools write
them) and otherwise reads UTF-8, an undecodable byte becoming U+FFFD rather than refusing a
whole profile over one odd file name.

`parse_json` refuses, before parsing, a document whose parsed form would not fit in
`MAX_JSON_COST` bytes of memory. The size of the text alone does not bound that: `{},`
costs three bytes on disk and about a hundred as a Python dict in a list, so a 489 KB gzip
file of them grew past 11 GB. `json_cost` prices what `json.loads` builds from a count of the
characters that open containers, strings and values (`str.count` runs at memory speed), and
errs on the side of more.
"""

from __future__ import annotations

import codecs
import json

from perftop.formats.errors import FormatError

__all__ = ["MAX_JSON_COST", "decode_text", "json_cost", "parse_json"]

# Twice what a 200 MB py-spy speedscope file (hours of samples) needs; ~20 x a snapshot with
# a week of history. A machine short of this much memory fails with "too large" instead.
MAX_JSON_COST = 2 * 1024**3
# Bytes of Python objects per JSON item, with its slot in the list or dict holding it: a
# dict or list object (56-64) and a string (49 + its characters) or a number (24-32).
_CONTAINER_COST = 80
_STRING_COST = 56
_VALUE_COST = 36

_BOMS = (
    # UTF-32 first: its little-endian mark starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def has_wide_bom(data: bytes) -> bool:
    """Whether `data` starts with a UTF-16 or UTF-32 byte-order mark (text, not binary)."""
    return any(data.startswith(bom) for bom, _ in _BOMS)


def decode_text(data: bytes) -> str:
    """The text of `data`: by its byte-order mark if it has one, else UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # The codec reads the mark itself (and drops it), so the byte order is right.
            return data.decode(encoding, "replace")
    return data.decode("utf-8-sig", "replace")


def json_cost(text: str | bytes) -> int:
    """About how many bytes of memory `json.loads(text)` needs, at least the real figure."""
    if isinstance(text, str):
        containers = text.count("{") + text.count("[")
        strings = text.count('"') // 2
        items = text.count(",") + text.count(":") + containers
    else:
        containers = text.count(b"{") + text.count(b"[")
        strings = text.count(b'"') // 2
        items = text.count(b",") + text.count(b":") + containers
    # Braces, quotes and commas inside strings are counted too: more, never less.
    values = max(0, items - strings)
    return len(text) + containers * _CONTAINER_COST + strings * _STRING_COST + values * _VALUE_COST


def too_costly(source: str) -> FormatError:
    limit = MAX_JSON_COST // 1024**3
    return FormatError(source, f"too large to load: its JSON would need more than {limit} GiB")


def parse_json(text: str, source: str) -> object:
    """`json.loads(text)`, every failure (malformed, too deep, too large) one FormatError."""
    if json_cost(text) > MAX_JSON_COST:
        raise too_costly(source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(source, f"not JSON: {e.msg}", e.lineno) from None
    except (ValueError, RecursionError) as e:  # numbers too long, nesting too deep
        raise FormatError(source, f"not JSON: {e}") from None
    except MemoryError:
        raise FormatError(source, "too large to load") from None
