"""perftop's own themes for poor terminals, beside Textual's built-in ones.

Textual's `ansi-dark` already uses the terminal's 16 colours (right for TERM=linux consoles).
These two add what is missing: a high-contrast theme (pure black and white with saturated
accents, for glare and weak eyesight) and a monochrome one (greys only, for terminals or
people that cannot tell colours apart; meters still differ by bold text).
"""

from __future__ import annotations

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="perftop-high-contrast",
    primary="#ffffff",
    secondary="#00ffff",
    accent="#ffff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    boost="#333333",
    success="#00ff00",
    warning="#ffff00",
    error="#ff3030",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={"footer-key-foreground": "#ffff00", "block-cursor-background": "#ffff00"},
)

MONOCHROME = Theme(
    name="perftop-mono",
    primary="#c0c0c0",
    secondary="#a0a0a0",
    accent="#ffffff",
    foreground="#e0e0e0",
    background="#000000",
    surface="#101010",
    panel="#202020",
    boost="#404040",
    success="#b0b0b0",
    warning="#e0e0e0",
    error="#ffffff",
    dark=True,
    text_alpha=1.0,
)

THEMES = (HIGH_CONTRAST, MONOCHROME)
