"""The one error every reader raises for a file or text it cannot make sense of.

In the model, not in `formats/`, because the model's own text form (`folded.py`) raises it and
the profilers that parse their output with it must not import `formats/`."""

from __future__ import annotations


class FormatError(Exception):
    """A profile file (or text) is not what its format says. The message is one line."""

    def __init__(self, source: str, problem: str, line: int | None = None) -> None:
        self.source = source
        # One line whatever the input: the CLI prints it to stderr and the UI in a status line.
        self.problem = " ".join(problem.split())
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {self.problem}")
