"""The loop of one activity worker process of a :class:`~flowy.local.workers.WorkerPool`.

A worker runs one call at a time, as the pool sends them over its pipe, and sends back
the outcome.  The messages, parent to worker: ``(func, transport, key, input,
beat_every, ids)`` to run a call (``ids``: the workflow's name, id and run id; sent only
to an idle worker), ``STOP`` (the call in hand is no longer wanted: its heartbeats
answer True) and ``None`` (the pool lets the worker go).  Worker to parent: ``(DONE,
data)``, ``(FAILED, exception, traceback text)`` and ``BEAT``.  A worker has at most one
call, so no message needs to name it.  A worker also ends when the pool's lifeline pipe
closes: its parent has died.
"""

import os
import signal
import threading
import time
import traceback

from ..errors import TaskError, exception_text, failed_call_text
from ..heartbeat import encode_details, reporting
from ..run_context import Context, attempt_of, running
from .runner import run_activity

__all__ = ['serve', 'DONE', 'FAILED', 'BEAT', 'STOP', 'BEAT_EVERY']

DONE, FAILED, BEAT, STOP = 'done', 'failed', 'beat', 'stop'
#: The longest a worker goes between telling the pool that its call still heartbeats.
BEAT_EVERY = 0.1


def serve(conn, lifeline, inherited):
    for fd in inherited:
        try:
            os.close(fd)
        except OSError:
            pass
    threading.Thread(target=_end_with_parent, args=(lifeline,), daemon=True).start()
    # Ctrl-C reaches the whole process group; the parent decides what happens to a run.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    beats = _Beats(conn)
    with reporting(beats):
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return  # the pool has let this worker go, or the parent has died
            except BaseException as exc:  # a call that cannot be read (unpicklable here)
                _reply(conn, (FAILED, TypeError(
                    'this activity call could not be read in the worker process: %s'
                    % exception_text(exc)), traceback.format_exc()))
                continue
            if message is None:
                return  # the pool lets this worker go
            if message == STOP:
                continue  # for a call that has ended since
            func, transport, key, input_data, beat_every, ids = message
            beats.start(beat_every)
            try:
                with running(Context(*ids, key, attempt_of(key))):
                    reply = (DONE, run_activity(func, transport, key, input_data))
            except BaseException as exc:  # SystemExit too: the call fails, the worker stays
                reply = (FAILED, exc, traceback.format_exc())
            if not _reply(conn, reply, key):
                return


def _end_with_parent(lifeline):
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)  # the parent has died (or let the pool go): the call in hand is unwanted


def _reply(conn, reply, key=None):
    """Send ``reply`` (about call ``key``) to the parent; False if the parent has gone."""
    try:
        conn.send(reply)
    except (OSError, EOFError):
        return False
    except Exception:  # an exception that cannot be pickled: describe it instead
        failure = reply[1]
        reason, type_name = exception_text(failure), type(failure).__name__
        if not isinstance(failure, Exception):  # SystemExit: its message is only its code
            reason = '%s: %s' % (type_name, reason) if reason != type_name else reason
        error = TaskError(reason, key, type_name, reply[2],
                          None if key is None else failed_call_text(key, reason, type_name))
        try:
            conn.send((FAILED, error, reply[2]))
        except (OSError, EOFError):
            return False
    return True


class _Beats:
    """A worker's heartbeat reporter: it tells the pool now and then, and hears STOP."""

    def __init__(self, conn):
        self.conn = conn
        self.every = BEAT_EVERY
        self.next_beat = 0.0
        self.stopped = False

    def start(self, every):
        self.every = every
        self.next_beat = time.monotonic() + every
        self.stopped = False

    def __call__(self, details=None):
        encode_details(details)
        now = time.monotonic()
        if now >= self.next_beat and not self.stopped:
            self.next_beat = now + self.every
            conn = self.conn
            try:
                conn.send(BEAT)
                while conn.poll():
                    if conn.recv() == STOP:
                        self.stopped = True
            except (OSError, EOFError):
                self.stopped = True  # the parent has gone: nobody wants the result
        return self.stopped
