"""The one job across every server that shares a models folder: an OS lock there, and the state its holder writes.

Replicas of the demo (deploy/run.sh) share one MNIST_DEMO_HOME. A job runs only in the process that holds
an exclusive `flock` on JOB_LOCK; the kernel frees it when that process ends, even by SIGKILL, so a crash
never leaves the lock taken. The holder writes its snapshot to JOB_STATE (small JSON, written atomically), so
the other servers refuse a second job, show this one's progress, and can ask it to stop through JOB_CANCEL.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import threading
import time
from pathlib import Path

from mnist_core.atomic_files import atomic_write_bytes
from mnist_core.config import JOB_CANCEL, JOB_LOCK, JOB_POLL_S, JOB_STATE, JOB_STATE_POINTS, models_dir
from mnist_core.serving.snapshot import Snapshot, from_state

ORPHANED = "the server running it stopped before it ended; the serving model was not changed"
LOCK_TRIES = 5  # a reader's probe holds a shared lock for microseconds: retry before saying "busy"
LOCK_RETRY_S = 0.02


class SharedJob:
    """This process's side of the shared job: take and free the lock, publish a snapshot, read another's."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder  # None: models_dir() when used, so MNIST_DEMO_HOME decides
        self._fd: int | None = None
        self._guard = threading.Lock()
        self._read_at = -JOB_POLL_S
        self._stamp: tuple[int, int, int] | None = None
        self._last: Snapshot | None = None
        self._cancel_checked = -JOB_POLL_S

    def path(self, name: str) -> Path:
        return (self._folder or models_dir()) / name

    def acquire(self) -> bool:
        """True when this process now holds the job lock, False while another one does; OSError if it cannot tell."""
        lock = self.path(JOB_LOCK)
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        for _ in range(LOCK_TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(LOCK_RETRY_S)
                continue
            self._fd = fd
            self.path(JOB_CANCEL).unlink(missing_ok=True)  # a request for an earlier job
            return True
        os.close(fd)
        return False

    def claim(self, after: int) -> int | None:
        """The lock and the next job's number (past `after` and every server's last), or None while it is taken."""
        if not self.acquire():
            return None
        last = self.last(fresh=True)
        return max(after, last.job_id if last is not None else 0) + 1

    def release(self) -> None:
        """After the job's last snapshot is published; closing the file frees the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def publish(self, snap: Snapshot) -> None:
        """The holder's snapshot for the other servers; a failed write only leaves them an older one."""
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

    def _held_elsewhere(self) -> bool:
        """Whether some process holds the job lock (a shared lock is refused while an exclusive one is held)."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path(JOB_LOCK), os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

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
