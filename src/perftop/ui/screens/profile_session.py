"""The profile screen's profiler: starting the session (off the UI thread where gdb injects a
memory tracker), a thread worker that waits on its batches and posts them, their absorption on
the UI thread, and the session's failure and end.

A batch is absorbed by the session (its profile, its state) and then by the view
(`perftop.ui.screens.profile_view`), each on the UI thread, so the flame never reads a
half-merged tree.
"""

from __future__ import annotations

import contextlib

from textual import work
from textual.message import Message

from perftop.profiling.backend import Batch, ProfilerError, ProfilerOptions
from perftop.profiling.backends import python_under
from perftop.profiling.session import ProfileSession, SessionState
from perftop.ui.screens.profile_view import ViewedFlameScreen

__all__ = ["BatchReady", "ProfilerFailed", "SessionFlameScreen", "StartReturned"]


class BatchReady(Message):
    def __init__(self, batch: Batch) -> None:
        super().__init__()
        self.batch = batch


class ProfilerFailed(Message):
    def __init__(self, error: ProfilerError) -> None:
        super().__init__()
        self.error = error


class StartReturned(Message):
    """A start (or restart) made off the UI thread has returned: live, or failed."""

    def __init__(self, session: ProfileSession) -> None:
        super().__init__()
        self.session = session


class SessionFlameScreen(ViewedFlameScreen):
    """Drives `session` (None for a profile from a file: then nothing here runs)."""

    session: ProfileSession | None = None
    _hinted = False  # python_under said (or found nothing) for this screen's target

    @property
    def pid(self) -> int | None:
        return self.session.pid if self.session is not None else None

    @property
    def tracks_memory(self) -> bool:
        raise NotImplementedError

    def _refresh_head(self) -> None:
        raise NotImplementedError

    # --- the profiler -------------------------------------------------------------------------

    def _start(self) -> None:
        session = self.session
        assert session is not None
        if self.tracks_memory:
            self._start_off_thread(session, None)  # seconds of gdb: not on the UI thread
            return
        session.start()
        self._started(session)

    def _started(self, session: ProfileSession) -> None:
        if session.state is SessionState.FAILED:
            self._failed()
        else:
            self._pump(session)
            self._hint_python_under(session)
        self._refresh_head()

    def _hint_python_under(self, session: ProfileSession) -> None:
        """Auto sampled a shell or launcher with perf: say which process under it is Python
        (once a screen: a restart with other settings would say it again)."""
        if self._hinted or session.metadata.get("source") != "perf":
            return
        self._hinted = True
        self._look_under(session.pid, session.options)

    @work(thread=True, group="hint")
    def _look_under(self, pid: int, options: ProfilerOptions) -> None:
        """Off the UI thread: the walk of the process tree is a read of every process's stat
        (~10 ms at 475 processes, ~0.1 s at 5,000)."""
        hint = python_under(pid, options)
        if hint is not None:
            with contextlib.suppress(RuntimeError):  # the app ended meanwhile
                self.app.call_from_thread(self.notify, hint, severity="warning", timeout=15)

    @work(thread=True, exclusive=True, group="attach")
    def _start_off_thread(self, session: ProfileSession, options: ProfilerOptions | None) -> None:
        """Off the UI thread: start the session, or restart it with `options`."""
        if options is None:
            session.start()
        else:
            session.restart(options)
        self.post_message(StartReturned(session))

    def on_start_returned(self, message: StartReturned) -> None:
        if not self.is_attached or message.session is not self.session:
            message.session.stop()  # the screen closed while gdb was at work
            return
        self._started(message.session)

    @work(thread=True, exclusive=True, group="profiler")
    def _pump(self, session: ProfileSession) -> None:
        """Off the UI thread: wait for batches until the backend stops or the target exits."""
        backend = session.backend  # a restart makes a new one: this worker serves this one
        try:
            while backend.running:
                batch = session.next_batch(0.5)
                if batch is not None:
                    self.post_message(BatchReady(batch))
                    if batch.target_exited:
                        return
        except ProfilerError as exc:
            self.post_message(ProfilerFailed(exc))

    def on_batch_ready(self, message: BatchReady) -> None:
        if self.session is None:
            return
        news = self.session.absorb(message.batch)
        if not message.batch.replaces and self.view.source is self.session.profile:
            self.view.absorb(message.batch.profile)  # what the view keeps of the new samples
        # Toasted in full: the head line below is cut at the screen's edge.
        for warning in news.warnings:
            self.notify(warning, severity="warning", timeout=10)
        if news.exited:
            self.notify(f"PID {self.pid} exited; the profile is kept", severity="warning")
        self._refresh_views()

    def on_profiler_failed(self, message: ProfilerFailed) -> None:
        if self.session is not None:
            self.session.fail(message.error)
            self._failed()

    def _failed(self) -> None:
        assert self.session is not None
        self.notify(self.session.error or "the profiler failed", severity="error", timeout=10)
        self._refresh_head()

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()

    def on_unmount(self) -> None:
        # Runs on every way out (back, quit, Ctrl-C): the pump thread then sees the backend
        # stopped and returns, so the app's thread pool can shut down.
        self.stop()
