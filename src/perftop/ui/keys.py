"""Binding ids, so that any action can be remapped from the config file's [keys] table.

Textual's keymap (`App.set_keymap`) replaces the keys of bindings by id. Rather than write an id
by hand on every binding (and let them drift from the actions), each class's bindings get
`scope.action` ids here: `dashboard.toggle_tree`, `profile.search`, `app.quit`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import NamedTuple

from textual.binding import Binding, BindingType


def binding_id(scope: str, action: str) -> str:
    """`sort_step(-1)` → `sort_step_-1`, `app.quit` → `app_quit`: stable and readable."""
    return f"{scope}." + re.sub(r"[^A-Za-z0-9-]+", "_", action).strip("_")


def with_ids(scope: str, bindings: Iterable[Binding]) -> list[BindingType]:
    return [dataclasses.replace(b, id=b.id or binding_id(scope, b.action)) for b in bindings]


class Remappable(NamedTuple):
    id: str
    description: str
    keys: str


def remappable(*owners: type) -> list[Remappable]:
    """Every described binding of these classes with an id: what F2 offers to remap."""
    found: dict[str, Remappable] = {}
    for owner in owners:
        for b in getattr(owner, "BINDINGS", []):
            if isinstance(b, Binding) and b.id and b.description and b.id not in found:
                found[b.id] = Remappable(b.id, b.description, b.key)
    return list(found.values())
