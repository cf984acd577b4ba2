"""The profile model: frames, the Profile (per-thread call trees), its layout and its diff.

A leaf: nothing here imports anything else of perftop's, so `formats/` (which reads and
writes profiles) and `profiling/` (which samples them) both depend on it and not on each other.
"""
