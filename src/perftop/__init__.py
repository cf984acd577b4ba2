"""perftop: a terminal UI for live system and process profiling."""

__version__ = "0.1.0"
