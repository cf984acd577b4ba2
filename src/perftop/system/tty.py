"""A controlling terminal's name from the `tty_nr` of /proc/PID/stat, as ps names it.

`tty_nr` is the device number in the kernel's encoding (`new_encode_dev`: minor's low byte,
then the 12-bit major, then the rest of the minor). The names are those of the kernel's fixed
device majors (Documentation/admin-guide/devices.txt in the kernel's tree), which is what ps
falls back on too; a terminal of another major reads `?`, as in ps when it cannot name one.
Pure and cached: the table asks for the same few terminals on every row.
"""

from __future__ import annotations

from functools import lru_cache

NO_TTY = "?"
_PTS_MAJORS = range(136, 144)  # Unix98 pty slaves: /dev/pts/N
_BSD_PTY = 3  # the old pty slaves: /dev/ttyp0 …
# Majors whose devices are one name and the minor (minus an offset), from devices.txt.
_NAMED = {188: ("ttyUSB", 0), 166: ("ttyACM", 0), 204: ("ttyAMA", 64), 229: ("hvc", 0)}
_ALTERNATE = {0: "tty", 1: "console", 2: "ptmx"}  # major 5


def split_dev(dev: int) -> tuple[int, int]:
    """(major, minor) of a device number as the kernel encodes it in /proc."""
    return (dev >> 8) & 0xFFF, (dev & 0xFF) | ((dev >> 12) & 0xFFF00)


@lru_cache(maxsize=256)
def tty_name(tty_nr: int) -> str:
    """`pts/3`, `tty1`, `ttyS0`; `?` for none (0) or one without a known name."""
    if tty_nr <= 0:
        return NO_TTY
    major, minor = split_dev(tty_nr)
    if major in _PTS_MAJORS:
        return f"pts/{(major - _PTS_MAJORS.start) * 256 + minor}"
    if major == 4:  # virtual consoles, then the serial ports from minor 64
        return f"tty{minor}" if minor < 64 else f"ttyS{minor - 64}"
    if major == 5:
        return _ALTERNATE.get(minor, NO_TTY)
    if major == _BSD_PTY and minor < 256:
        return "tty" + "pqrstuvwxyzabcde"[minor >> 4] + "0123456789abcdef"[minor & 15]
    named = _NAMED.get(major)
    if named is not None and minor >= named[1]:
        return f"{named[0]}{minor - named[1]}"
    return NO_TTY
