"""The one job across every server that shares a models folder: one lock, and the state its holder writes there.

Replicas of the demo (deploy/run.sh) share one MNIST_DEMO_HOME. A job runs only in the process that holds the
job lock: an exclusive `flock` on JOB_LOCK in the models folder, or, where the drawings database is a PostgreSQL
server and MNIST_DEMO_JOB_LOCK does not say "file", an advisory lock in that database (for hosts whose shared
folder does not carry `flock` between them; docs/deploy.md says which to use when). Either is freed when its
process ends, even by SIGKILL, so a crash never leaves the lock taken. The holder writes its snapshot to
JOB_STATE (small JSON, written atomically), so the other servers refuse a second job, show this one's progress,
and can ask it to stop through JOB_CANCEL.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from pathlib import Path

from mnist_core.atomic_files import atomic_write_bytes, flock_taken, flock_try
from mnist_core.config import (
    JOB_CANCEL,
    JOB_LOCK,
    JOB_LOCK_ENV,
    JOB_POLL_S,
    JOB_STATE,
    JOB_STATE_POINTS,
    models_dir,
)
from mnist_core.drawings.engine import Engine, FileLock, Held, Location, is_url, locate, open_engine
from mnist_core.serving.snapshot import Snapshot, from_state

ORPHANED = "the server running it stopped before it ended; the serving model was not changed"
LOCK_TRIES = 5  # a reader's probe holds a shared lock for microseconds: retry before saying "busy"
LOCK_RETRY_S = 0.02
# A database lock is lost with its connection (the server restarted): a job published this recently is taken for
# alive whatever the lock says, so no second job starts while its server takes the lock again.
FRESH_S = 5.0


def lock_engine(database: Location | None = None) -> Engine | None:
    """Where the job lock lives: a PostgreSQL database's advisory lock (None: an flock in the models folder).

    MNIST_DEMO_JOB_LOCK=file or =database decides; unset, the lock is in the database when that is PostgreSQL.
    Every server sharing the models folder must decide the same way."""
    where = locate(database)
    choice = os.environ.get(JOB_LOCK_ENV, "").strip().lower()
    if choice not in ("", "file", "database"):
        raise ValueError(f"{JOB_LOCK_ENV} must be 'file' or 'database', got {choice!r}")
    if choice == "file" or (choice == "" and not is_url(where)):
        return None
    if not is_url(where):
        raise ValueError(f"{JOB_LOCK_ENV}=database needs a PostgreSQL drawings database (postgresql://…)")
    return open_engine(where)


class SharedJob:
    """This process's side of the shared job: take and free the lock, publish a snapshot, read another's."""

    def __init__(self, folder: Path | None = None, engine: Engine | None = None) -> None:
        self._folder = folder  # None: models_dir() when used, so MNIST_DEMO_HOME decides
        self._engine = engine  # None: the lock is an flock in the folder
        self._held: Held | None = None
        self._guard = threading.Lock()
        self._read_at = -JOB_POLL_S
        self._stamp: tuple[int, int, int] | None = None
        self._last: Snapshot | None = None
        self._cancel_checked = -JOB_POLL_S

    def path(self, name: str) -> Path:
        return (self._folder or models_dir()) / name

    def lock_where(self) -> str:
        """Where the job lock is, for a message: its file, or the database."""
        return str(self.path(JOB_LOCK)) if self._engine is None else f"the database at {self._engine.label}"

    def _try_lock(self) -> Held | None:
        if self._engine is not None:
            return self._engine.try_lock("job")
        fd = flock_try(self.path(JOB_LOCK))
        return None if fd is None else FileLock(fd)

    def acquire(self) -> bool:
        """True when this process now holds the job lock, False while another one does; OSError (the file) or
        RuntimeError (the database) if it cannot tell."""
        for _ in range(LOCK_TRIES):
            held = self._try_with_errors()
            if held is None:
                time.sleep(LOCK_RETRY_S)
                continue
            self._held = held
            self.path(JOB_CANCEL).unlink(missing_ok=True)  # a request for an earlier job
            return True
        return False

    def _try_with_errors(self) -> Held | None:
        if self._engine is None:
            return self._try_lock()
        try:
            return self._try_lock()
        except self._engine.errors as exc:
            raise RuntimeError(self._engine.explain("the job lock in the database", exc)) from None

    def claim(self, after: int) -> int | None:
        """The lock and the next job's number (past `after` and every server's last), or None while it is taken."""
        if not self.acquire():
            return None
        last = self.last(fresh=True)
        if self._engine is not None and last is not None and last.running and self._published_within(FRESH_S):
            self.release()  # its server lost the database lock (a restart) but still publishes: it is alive
            return None
        return max(after, last.job_id if last is not None else 0) + 1

    def _published_within(self, seconds: float) -> bool:
        try:
            return time.time() - os.stat(self.path(JOB_STATE)).st_mtime < seconds
        except OSError:
            return False

    def release(self) -> None:
        """After the job's last snapshot is published; frees the lock."""
        if self._held is not None:
            self._held.release()
            self._held = None

    def publish(self, snap: Snapshot) -> None:
        """The holder's snapshot for the other servers; a failed write only leaves them an older one. A database
        lock lost meanwhile (its server restarted) is taken again."""
        if self._held is not None and snap.running and not self._held.alive():
            self._take_again()
        try:
            atomic_write_bytes(self.path(JOB_STATE), json.dumps(snap.to_state(JOB_STATE_POINTS)).encode())
        except OSError:
            pass

    def last(self, fresh: bool = False) -> Snapshot | None:
        """The last snapshot any server published (re-read at most every JOB_POLL_S unless `fresh`), None if none.

        A running job whose lock is free lost its server: it is shown as failed, as it will never end otherwise.
        """
        with self._guard:
            now = time.monotonic()
            if fresh or now - self._read_at >= JOB_POLL_S:
                self._read_at = now
                self._last = self._read()
                if self._last is not None and self._last.running and not self._held_elsewhere():
                    self._last = dataclasses.replace(self._last, state="failed", message=ORPHANED)
            return self._last

    def _read(self) -> Snapshot | None:
        """Parsed again only when the file changed (a new file each write: its inode, time or size differ)."""
        try:
            info = os.stat(self.path(JOB_STATE))
        except OSError:
            return None
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return self._last
        try:
            snap = from_state(json.loads(self.path(JOB_STATE).read_bytes()))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self._stamp = stamp
        return snap

    def _take_again(self) -> None:
        try:
            held = self._try_with_errors()
        except (OSError, RuntimeError):
            return  # the database is not back yet: the next snapshot tries again
        if held is not None:
            self._held = held

    def _held_elsewhere(self) -> bool:
        """Whether some process holds the job lock."""
        if self._held is not None:
            return True
        if self._engine is None:
            return flock_taken(self.path(JOB_LOCK))
        try:
            return self._engine.lock_taken("job")
        except self._engine.errors:
            return True  # cannot tell while the database is down: the job is not called lost

    def ask_cancel(self, job_id: int) -> None:
        """Ask the server running `job_id` to stop (it looks every JOB_POLL_S while it trains)."""
        atomic_write_bytes(self.path(JOB_CANCEL), json.dumps({"job_id": job_id}).encode())

    def cancel_asked(self, job_id: int, fresh: bool = False) -> bool:
        """Whether another server asked this process's `job_id` to stop; looked at most every JOB_POLL_S unless
        `fresh` (the last look before a run commits)."""
        now = time.monotonic()
        if not fresh and now - self._cancel_checked < JOB_POLL_S:
            return False
        self._cancel_checked = now
        try:
            return bool(json.loads(self.path(JOB_CANCEL).read_bytes()).get("job_id") == job_id)
        except (OSError, ValueError, AttributeError):
            return False
