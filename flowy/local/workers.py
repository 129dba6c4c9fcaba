"""Activities on worker processes of flowy's own: one pipe each, stopped one at a time.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one running call, and a worker
that dies breaks the whole pool, failing every call on it.  :class:`WorkerPool` gives
each worker process a pipe of its own and runs one call at a time on it, so that a
timed-out attempt's worker can be killed and replaced while the others go on, and a
worker that dies costs only the call it was running.  One reader thread per pool waits
on every pipe and every process at once: it hands outcomes to the runs that made the
calls (through their :class:`ProcessFeeder`), answers heartbeats, and starts the next
queued call on the worker that just became free.

The messages on a worker's pipe, parent to worker: ``(func, transport, key, input,
beat_every)`` to run a call (sent only to an idle worker) and ``STOP`` (the call in hand
is no longer wanted: its heartbeats answer True).  Worker to parent: ``(DONE, data)``,
``(FAILED, exception, traceback text)`` and ``BEAT``.  A worker has at most one call,
so no message needs to name it.
"""

import atexit
import collections
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
import weakref

from ..errors import FlowyError, TaskError, exception_text
from ..heartbeat import encode_details, reporting
from .feeder import Outcomes, WorkerLost
from .runner import run_activity

__all__ = ['WorkerPool', 'ProcessFeeder']

logger = logging.getLogger('flowy')

DONE, FAILED, BEAT, STOP = 'done', 'failed', 'beat', 'stop'
#: The longest a worker goes between telling the pool that its call still heartbeats.
BEAT_EVERY = 0.1


class RemoteTraceback(FlowyError):
    """The traceback of an exception raised in a worker process, as text."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return self.text


# -- the pool, in the parent process ------------------------------------------------------

class _Call:
    __slots__ = ('feeder', 'run', 'key', 'message', 'attempt', 'stopped')

    def __init__(self, feeder, run, key, message, attempt):
        self.feeder = feeder
        self.run = run
        self.key = key
        self.message = message
        self.attempt = attempt
        self.stopped = False  # STOP was sent for it


class _Worker:
    __slots__ = ('process', 'conn', 'call', 'dying')

    def __init__(self, process, conn):
        self.process = process
        self.conn = conn
        self.call = None
        self.dying = False  # killed, or seen dead: it takes no more calls


class WorkerPool:
    """``workers`` processes running activity calls one at a time each.

    Shared by the runs of a LocalWorkflow: each run submits through a
    :class:`ProcessFeeder` of its own, which receives that run's outcomes.
    """

    def __init__(self, workers, context=None):
        self.size = workers
        self.context = context or multiprocessing.get_context()
        self.lock = threading.Lock()
        self.workers = []
        self.idle = []
        self.queue = collections.deque()  # _Call objects waiting for a worker
        self.closed = False
        self._wake_reader, self._wake_writer = self.context.Pipe(duplex=False)
        # Held open by this process only: every worker ends when it reads the end of it,
        # so that no worker outlives a parent that was killed.
        self._lifeline, self._lifeline_end = self.context.Pipe(duplex=False)
        for _ in range(workers):
            self.idle.append(self._start_worker())
        self.reader = threading.Thread(target=self._read, name='flowy-workers', daemon=True)
        self.reader.start()
        _POOLS.add(self)

    # -- from the event loops of the runs ---------------------------------------------

    def submit(self, call):
        with self.lock:
            if self.closed:
                raise RuntimeError('cannot run activities on a worker pool that is shut down')
            if self.idle:
                self._send(self.idle.pop(), call)
            else:
                self.queue.append(call)

    def drop(self, feeder):
        """Forget the queued calls of ``feeder`` (its run has ended)."""
        with self.lock:
            kept = [call for call in self.queue if call.feeder is not feeder]
            self.queue.clear()
            self.queue.extend(kept)

    def kill(self, call):
        """Kill the worker running ``call`` (it timed out); a new worker replaces it."""
        with self.lock:
            for worker in self.workers:
                if worker.call is call:
                    worker.call = None  # nobody waits for its outcome any more
                    worker.dying = True
                    call.feeder.ended(call)
                    worker.process.kill()
                    return

    def shutdown(self, wait=True, cancel_futures=False):
        """Let the workers go once they are idle; ``wait`` for that."""
        with self.lock:
            self.closed = True
            if cancel_futures:
                self.queue.clear()
        self._wake()
        if wait and threading.current_thread() is not self.reader:
            self.reader.join()

    def terminate_workers(self):
        """Kill every worker now: the work on them is unwanted."""
        with self.lock:
            self.closed = True
            self.queue.clear()
            for worker in self.workers:
                worker.process.kill()
        self._wake()

    @property
    def pids(self):
        with self.lock:
            return [worker.process.pid for worker in self.workers]

    # -- the reader thread --------------------------------------------------------------

    def _read(self):
        try:
            while self._serve_once():
                pass
        except BaseException as exc:
            logger.exception('the worker pool of the local engine failed; its workers '
                             'are stopped')
            self._fail_everything(exc)
        finally:
            self._close_workers()

    def _fail_everything(self, exc):
        """The reader thread failed: stop, and fail every call in flight or queued."""
        with self.lock:
            self.closed = True
            calls = list(self.queue) + [worker.call for worker in self.workers if worker.call]
            self.queue.clear()
            for worker in self.workers:
                if worker.call is not None:
                    worker.call.feeder.ended(worker.call)
                    worker.call = None
                worker.process.kill()
        for call in calls:
            error = RuntimeError('the local engine failed while running this activity on '
                                 'a worker process: %s' % exception_text(exc))
            error.__cause__ = exc
            call.feeder.deliver((call.run, call.key, None, error, call.attempt))

    def _serve_once(self):
        """Wait for news from any worker and handle it; False once the pool is done."""
        with self.lock:
            if self.closed and not self.queue and all(
                    worker.call is None for worker in self.workers):
                return False
            by_handle = {self._wake_reader: None}
            for worker in self.workers:
                by_handle[worker.conn] = worker
                by_handle[worker.process.sentinel] = worker
        for handle in multiprocessing.connection.wait(list(by_handle)):
            worker = by_handle[handle]
            if worker is None:
                self._wake_reader.recv_bytes()
            elif handle is not worker.conn or not self._receive(worker):
                self._lost(worker)
        return True

    def _receive(self, worker):
        """Handle one message of ``worker``; False if its pipe has ended (it died)."""
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            return False
        except Exception as exc:
            message = (FAILED, TypeError('the outcome of this activity could not be read '
                                         'back from its worker process: %s'
                                         % exception_text(exc)), None)
        if message == BEAT:
            self._beat(worker)
            return True
        with self.lock:
            call, worker.call = worker.call, None
            if call is not None:
                call.feeder.ended(call)
            self._next_call(worker)
        if call is None:
            return True  # a call killed as it timed out, which ended anyway
        if message[0] == DONE:
            call.feeder.deliver((call.run, call.key, message[1], None, call.attempt))
        else:
            call.feeder.deliver((call.run, call.key, None, _with_traceback(*message[1:]),
                                 call.attempt))
        return True

    def _beat(self, worker):
        call = worker.call
        if call is None:
            return
        if call.attempt is not None:
            call.attempt.beat()
        if not call.stopped and call.run.heartbeat():
            call.stopped = True
            self._tell(worker, STOP)

    def _lost(self, worker):
        """``worker`` has ended: fail its call, if any, and replace it."""
        with self.lock:
            if worker not in self.workers:
                return  # seen already (its pipe and its sentinel both said so)
            worker.dying = True
        while True:  # what it sent before it died still counts
            try:
                if not worker.conn.poll() or not self._receive(worker):
                    break
            except OSError:
                break
        # A worker whose pipe has ended is of no more use, even if it has not exited.
        worker.process.kill()
        worker.process.join()
        with self.lock:
            self.workers.remove(worker)
            if worker in self.idle:
                self.idle.remove(worker)
            call, worker.call = worker.call, None
            if call is not None:
                call.feeder.ended(call)
            if not self.closed:
                self._next_call(self._start_worker())
        with _FDS:
            worker.conn.close()
        if call is not None:
            lost = WorkerLost('the worker process running it died (%s) before the '
                              'activity ended' % _exit_text(worker.process.exitcode))
            call.feeder.deliver((call.run, call.key, None, lost, call.attempt))

    def _close_workers(self):
        with self.lock:
            workers, self.workers, self.idle = self.workers, [], []
        for worker in workers:
            self._tell(worker, None)  # they are idle: this lets them go
            with _FDS:
                worker.conn.close()
        for worker in workers:
            worker.process.join(timeout=10)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
        with _FDS:
            for end in (self._wake_reader, self._wake_writer, self._lifeline,
                        self._lifeline_end):
                end.close()

    # -- helpers (with the lock held, unless said otherwise) ------------------------------

    def _start_worker(self):
        parent_end, child_end = self.context.Pipe()
        # A forked worker inherits this process's ends of every pool's pipes.  It closes
        # them: held by a worker, they would keep other workers from seeing that this
        # process has died.  They are listed by number, so none may be closed (and its
        # number reused, say for the pipes the fork itself makes) until the fork is over.
        with _FDS:
            inherited = []
            if self.context.get_start_method() == 'fork':
                inherited = [parent_end.fileno()]
                for pool in list(_POOLS) + [self]:
                    inherited += pool._parent_fds()
            process = self.context.Process(target=_serve,
                                           args=(child_end, self._lifeline, inherited),
                                           name='flowy-activity-worker')
            process.start()
            child_end.close()
        worker = _Worker(process, parent_end)
        self.workers.append(worker)
        return worker

    def _next_call(self, worker):
        if worker.dying:
            return
        if self.queue:
            self._send(worker, self.queue.popleft())
        else:
            self.idle.append(worker)

    def _send(self, worker, call):
        worker.call = call
        call.feeder.started(call)
        if call.attempt is not None:
            call.attempt.stop = lambda: self.kill(call)
            call.attempt.begin()
        try:
            worker.conn.send(call.message)
        except (OSError, ValueError):
            pass  # the worker has died: the reader thread will see it and fail the call
        except Exception as exc:  # the call cannot be pickled
            worker.call = None
            call.feeder.ended(call)
            self.idle.append(worker)
            error = TypeError('cannot send this activity call to a worker process: %s'
                              % exception_text(exc))
            error.__cause__ = exc
            call.feeder.deliver((call.run, call.key, None, error, call.attempt))

    def _parent_fds(self):
        """The file descriptors of this pool that only this process may hold."""
        ends = [worker.conn for worker in list(self.workers)]
        ends += [self._wake_reader, self._wake_writer, self._lifeline_end]
        fds = []
        for end in ends:
            try:
                fds.append(end.fileno())
            except OSError:
                pass  # closed meanwhile
        return fds

    def _tell(self, worker, message):
        try:
            worker.conn.send(message)
        except (OSError, ValueError):
            pass  # it has died; the reader thread will see that

    def _wake(self):
        try:
            self._wake_writer.send_bytes(b'')
        except (OSError, ValueError):
            pass  # the reader has closed the pipe: it has ended


def _with_traceback(exc, text):
    if text:
        exc.__cause__ = RemoteTraceback(text)
    return exc


def _exit_text(code):
    if code is None:
        return 'still running'
    if code < 0:
        try:
            return 'killed by %s' % signal.Signals(-code).name
        except ValueError:
            return 'killed by signal %d' % -code
    return 'exit code %d' % code


class ProcessFeeder(Outcomes):
    """One run's way onto a :class:`WorkerPool`: it submits calls and gets their outcomes."""

    def __init__(self, engine, pool):
        super().__init__(engine)
        self.pool = pool
        self.running = 0  # calls on a worker now; under the pool's lock
        self.quiet = threading.Event()  # set while ``running`` is 0
        self.quiet.set()

    def submit(self, run, key, func, transport, input_data, attempt=None):
        beat_every = BEAT_EVERY
        if attempt is not None and attempt.heartbeat is not None:
            beat_every = min(beat_every, attempt.heartbeat / 8)
        message = (func, transport, key, input_data, beat_every)
        self.pool.submit(_Call(self, run, key, message, attempt))

    def started(self, call):
        self.running += 1
        self.quiet.clear()

    def ended(self, call):
        self.running -= 1
        if not self.running:
            self.quiet.set()

    def cancel(self):
        """Drop this run's calls that no worker has started."""
        self.pool.drop(self)

    def wait(self):
        """Wait until none of this run's calls is on a worker."""
        self.quiet.wait()


# Held while a pool lists its pipes' file descriptors for a new worker and forks it, and
# while any pool closes one of them.
_FDS = threading.Lock()

# Pools with live workers, so that the interpreter's exit lets them go first (their
# workers wait for their pipes to close; multiprocessing joins them at exit).
_POOLS = weakref.WeakSet()


@atexit.register
def _shut_pools_down():
    for pool in list(_POOLS):
        pool.shutdown(wait=True)


# -- a worker process -----------------------------------------------------------------------

def _serve(conn, lifeline, inherited):
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
            func, transport, key, input_data, beat_every = message
            beats.start(beat_every)
            try:
                reply = (DONE, run_activity(func, transport, key, input_data))
            except BaseException as exc:  # SystemExit too: the call fails, the worker stays
                reply = (FAILED, exc, traceback.format_exc())
            if not _reply(conn, reply):
                return


def _end_with_parent(lifeline):
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)  # the parent has died (or let the pool go): the call in hand is unwanted


def _reply(conn, reply):
    """Send ``reply`` to the parent; False if the parent has gone."""
    try:
        conn.send(reply)
    except (OSError, EOFError):
        return False
    except Exception as exc:  # an exception that cannot be pickled: send its text
        error = TaskError(exception_text(reply[1]))
        error.__cause__ = exc
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
