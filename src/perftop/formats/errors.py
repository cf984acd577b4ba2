"""The one error every reader raises for a file it cannot make sense of (defined with the
model, whose text form raises it too; re-exported here for the formats)."""

from __future__ import annotations

from perftop.model.errors import FormatError

__all__ = ["FormatError"]
