"""Writing files in the background: each write in a child process (perftop/forked.py), a
"writing…" toast while it takes a while, Ctrl+X to cancel, and quitting never waits for it.

Exports used to run on a thread: one that rendered a deep profile as pyinstrument HTML for
13 minutes kept perftop from exiting all that time (Python waits for its threads), on a blank
screen. In a child the work is ended by a signal instead, on cancel or quit; a daemon thread
only waits for the child's answer.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.notifications import Notification, Notify

from perftop.children import ChildrenClosed
from perftop.exports import describe_error
from perftop.forked import ForkedCall, fork_call
from perftop.formats.errors import FormatError

# A write this quick is only reported done: a "writing…" toast that flashes is noise.
SHOW_WRITING_AFTER_S = 0.4
CANCEL_KEY = "ctrl+x"


def _outcome(path: Path, write: Callable[[], object]) -> bytes:
    """In the child: run `write`; what happened, as the parent will say it."""
    try:
        write()
    except OSError as exc:
        problem: str | None = describe_error(exc, path)
    except FormatError as exc:
        problem = f"could not export: {exc.problem}"
    except Exception as exc:  # a bug in a writer: said in a toast, not a dead export
        problem = f"could not export: {type(exc).__name__}: {exc}"
    else:
        problem = None
    return json.dumps({"problem": problem}).encode()


@dataclass(eq=False)
class Write:
    """One file being written."""

    path: Path
    what: str
    call: ForkedCall
    cancelled: bool = False
    toast: Notification | None = None
    done: threading.Event = field(default_factory=threading.Event)


class WritingApp(App[None]):
    """The part of perftop's App that writes files in the background."""

    BINDINGS = [Binding(CANCEL_KEY, "cancel_writes", "Cancel writing a file", show=False)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[Write] = []  # running, oldest first

    def start_write(self, path: Path, what: str, write: Callable[[], object]) -> Write | None:
        """Run `write` in a child; toast where the file went, or why it did not."""
        try:
            call = fork_call(lambda: _outcome(path, write), name=f"perftop: write {path.name}")
        except ChildrenClosed:
            return None  # quitting: nobody would see the file's toast
        except OSError as exc:
            self.notify(f"could not start writing {path}: {exc}", severity="error", timeout=10)
            return None
        job = Write(path, what, call)
        self.writes.append(job)
        self.set_timer(SHOW_WRITING_AFTER_S, lambda: self._show_writing(job))
        waiter = threading.Thread(
            target=self._wait_for, args=(job,), name=f"perftop-wait-{call.pid}", daemon=True
        )
        waiter.start()
        return job

    def _show_writing(self, job: Write) -> None:
        if job not in self.writes:
            return
        job.toast = Notification(
            f"writing {job.what} to {job.path}…  Ctrl+X cancels", "Writing", timeout=24 * 3600
        )
        self.post_message(Notify(job.toast))

    def _wait_for(self, job: Write) -> None:
        # A daemon thread: perftop never waits for it to exit (see the module docstring).
        answer = job.call.result()
        try:
            self.call_from_thread(self._finished, job, answer)
        except RuntimeError:
            pass  # the app has ended already
        finally:
            job.done.set()

    def _finished(self, job: Write, answer: bytes | None) -> None:
        if job in self.writes:
            self.writes.remove(job)
        if job.toast is not None:
            with contextlib.suppress(KeyError):  # dismissed by a click already
                self._unnotify(job.toast)
        if job.cancelled:
            self.notify(f"{job.what}: cancelled, {job.path} not written", title="Cancelled")
            return
        problem: str | None = "could not export: the writer ended before it was done"
        if answer is not None:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                problem = json.loads(answer)["problem"]
        if problem is None:
            self.notify(f"{job.what} saved to {job.path}", title="Saved")
        else:
            self.notify(problem, severity="error", timeout=10)

    def action_cancel_writes(self) -> None:
        """Cancel every file being written."""
        if not self.writes:
            self.notify("no file is being written")
            return
        for job in self.writes:
            job.cancelled = True
            job.call.cancel()

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # Nobody will see a file's toast any more: end the writers now rather than at exit.
        for job in self.writes:
            job.cancelled = True
            job.call.cancel()
        super().exit(*args, **kwargs)
