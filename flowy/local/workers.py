"""Activities on worker processes of flowy's own: one pipe each, stopped one at a time.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one running call, and a worker
that dies breaks the whole pool, failing every call on it.  :class:`WorkerPool` gives
each worker process a pipe of its own and runs one call at a time on it, so that a
timed-out attempt's worker can be killed and replaced while the others go on, and a
worker that dies costs only the call it was running.  One reader thread per pool waits
on every pipe and every process at once: it hands outcomes to the runs that made the
calls (through their :class:`ProcessFeeder`), answers heartbeats, and starts the next
queued call on the worker that just became free.

The worker processes' side, and the messages on their pipes, are in
:mod:`flowy.local.worker_process`.
"""

import atexit
import collections
import logging
import multiprocessing
import multiprocessing.connection
import signal
import threading
import weakref

from .. import events
from ..errors import FlowyError, exception_text
from .feeder import Outcomes, WorkerLost
from .observing import task_event
from .worker_process import BEAT, BEAT_EVERY, DONE, FAILED, STOP, serve

__all__ = ['WorkerPool', 'ProcessFeeder']

logger = logging.getLogger('flowy')

class RemoteTraceback(FlowyError):
    """The traceback of an exception raised in a worker process, as text."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text

    @property
    def remote_traceback(self):
        """The text: what :func:`flowy.errors.describe_failure` looks for."""
        return self.text

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

    def deliver(self, data, exc=None):
        """Hand the call's outcome to its run."""
        self.feeder.deliver((self.run, self.key, data, exc, self.attempt))


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
                    self._kill(worker)
                    return

    def stop(self, feeder, run, key):
        """Drop call ``key`` of ``run``, queued or running (its worker is killed).

        Returns the call, or None if it is neither queued nor on a worker.
        """
        with self.lock:
            queue = self.queue
            for index, call in enumerate(queue):
                if call.key == key and call.run is run and call.feeder is feeder:
                    del queue[index]
                    return call
            for worker in self.workers:
                call = worker.call
                if (call is not None and call.key == key and call.run is run
                        and call.feeder is feeder):
                    self._kill(worker)
                    return call
        return None

    def _kill(self, worker):
        self._take_call(worker)  # nobody waits for its outcome any more
        worker.dying = True
        worker.process.kill()

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
            calls = list(self.queue)
            self.queue.clear()
            for worker in self.workers:
                calls.append(self._take_call(worker))
                worker.process.kill()
        for call in calls:
            if call is not None:
                error = RuntimeError('the local engine failed while running this activity '
                                     'on a worker process: %s' % exception_text(exc))
                error.__cause__ = exc
                call.deliver(None, error)

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
            call = self._take_call(worker)
            self._next_call(worker)
        if call is None:
            return True  # a call killed as it timed out, which ended anyway
        if message[0] == DONE:
            call.deliver(message[1])
        else:
            call.deliver(None, _with_traceback(*message[1:]))
        return True

    def _beat(self, worker):
        call = worker.call
        if call is None:
            return
        if call.attempt is not None:
            call.attempt.beat()
        if not call.stopped and call.run.heartbeat(call.key):
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
            call = self._take_call(worker)
            if not self.closed:
                self._next_call(self._start_worker())
        with _FDS:
            worker.conn.close()
        if call is not None:
            call.deliver(None, WorkerLost('the worker process running it died (%s) before '
                                          'the activity ended'
                                          % _exit_text(worker.process.exitcode)))

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
            process = self.context.Process(target=serve,
                                           args=(child_end, self._lifeline, inherited),
                                           name='flowy-activity-worker')
            process.start()
            child_end.close()
        worker = _Worker(process, parent_end)
        self.workers.append(worker)
        return worker

    def _take_call(self, worker):
        """The call ``worker`` runs, if any, which it no longer does."""
        call, worker.call = worker.call, None
        if call is not None:
            call.feeder.ended(call)
        return call

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
        task_event(events.task_started, call.run, call.key)
        if call.attempt is not None:
            call.attempt.stop = lambda: self.kill(call)
            call.attempt.begin()
        try:
            worker.conn.send(call.message)
        except (OSError, ValueError):
            pass  # the worker has died: the reader thread will see it and fail the call
        except Exception as exc:  # the call cannot be pickled
            self._take_call(worker)
            self.idle.append(worker)
            error = TypeError('cannot send this activity call to a worker process: %s'
                              % exception_text(exc))
            error.__cause__ = exc
            call.deliver(None, error)

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
        workflow_id, run_id = run.history.ids
        message = (func, transport, key, input_data, beat_every,
                   (run.config.name, workflow_id, run_id))
        self.pool.submit(_Call(self, run, key, message, attempt))

    def stop(self, run, key):
        """Drop call ``key`` of ``run``: True if it was queued or on a worker (killed)."""
        call = self.pool.stop(self, run, key)
        if call is None:
            return False
        if call.attempt is not None:
            call.attempt.close()  # its timeouts are of no more use
        return True

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
