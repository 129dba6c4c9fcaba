"""Feeding activities to a thread pool without a Future per call."""

import collections
import concurrent.futures
import logging

from .. import events
from ..errors import FlowyError, exception_text
from ..heartbeat import encode_details, reporting
from ..run_context import Context, attempt_of, running
from .observing import task_event
from .runner import run_activity

__all__ = ['Outcomes', 'WorkerLost', 'ThreadFeeder', 'Attempt', 'call_context',
           'answer_heartbeat']

logger = logging.getLogger('flowy')


class Outcomes:
    """Where the outcomes of a run's activities wait for the event loop.

    Workers append to :attr:`done` in the order their calls end.  The event loop takes
    every outcome there before it waits for events, and a worker wakes it only when it
    is waiting already: outcomes that end while the loop is busy reach it together.
    """

    def __init__(self, engine):
        self.engine = engine
        self.done = collections.deque()  # (run, key, data, exc, attempt) not taken yet
        self.loop_waits = False  # set by the loop just before it checks ``done`` and waits

    def deliver(self, outcome):
        """From any thread: hand an outcome to the loop."""
        self.done.append(outcome)
        if self.loop_waits:
            self.loop_waits = False
            self.engine.post(self.take_done)

    def take_done(self):
        """On the event loop: record the outcomes that have arrived."""
        done = self.done
        for _ in range(len(done)):
            run, key, data, exc, attempt = done.popleft()
            if attempt is not None and not attempt.close():
                continue  # the late outcome of an attempt that timed out: nobody wants it
            if type(exc) is WorkerLost:
                # As on SWF, where a task whose worker vanished times out: ``retry``
                # alone retries it.
                self.engine.activity_ended()
                run.timed_out(key, '%s timed out: %s' % (key, exc))
            else:
                run.activity_done(key, data, exc)


class WorkerLost(FlowyError):
    """The worker process running an activity died before it reported an outcome."""


class ThreadFeeder(Outcomes):
    """Feeds activities to a thread pool's threads from one queue.

    A future per call costs more than a small activity itself.  Instead, up to one
    drain job per worker takes calls from a shared queue until it is empty, and
    outcomes wait in :attr:`done` (see :class:`Outcomes`): none waits for anything but
    the loop's current work, whatever the workers do next.
    """

    def __init__(self, engine, pool, workers):
        super().__init__(engine)
        self.pool = pool
        self.workers = workers
        self.calls = collections.deque()
        self.draining = 0
        self.jobs = set()

    def submit(self, run, key, func, transport, input_data, attempt=None):
        """Queue a call; ``attempt`` (an :class:`Attempt`) when it has timeouts."""
        self.calls.append((run, key, func, transport, input_data, attempt))
        if self.draining < self.workers:
            self._start_job()

    def cancel(self):
        """Drop the calls no job has taken yet."""
        self.calls.clear()

    def stop(self, run, key):
        """Drop call ``key`` of ``run`` if no job has taken it: True if it was dropped.

        A call a thread runs cannot be stopped: its heartbeats answer True instead.
        """
        calls = self.calls
        for index, call in enumerate(calls):
            if call[1] == key and call[0] is run:
                del calls[index]
                return True
        return False

    def wait(self):
        concurrent.futures.wait(list(self.jobs))

    def _start_job(self):
        job = self.pool.submit(self._drain)
        self.draining += 1
        self.jobs.add(job)
        job.add_done_callback(self._job_gone)

    def _job_gone(self, job):
        self.jobs.discard(job)
        if job.cancelled():  # it never ran, so it never said it ended
            self.engine.post(self._job_ended)

    def _job_ended(self):
        self.draining -= 1
        if self.calls and self.draining < self.workers:
            self._start_job()  # a call queued while this job was leaving

    def _drain(self):
        # One heartbeat reporter per job (cheaper than one per call), told each call the
        # job takes.  Whatever goes wrong here, the job still settles a call and says it
        # ended: a run never waits for an outcome that nobody will report.
        job = _Job()
        try:
            with reporting(job), running(job.context):
                self._run_calls(job)
        except BaseException as exc:
            self._job_failed(job, exc)
        finally:
            self.engine.post(self._job_ended)

    def _run_calls(self, job):
        calls, done, post = self.calls, self.done, self.engine.post
        step_here, started = self.engine.step_here, events.task_started
        job.call = None
        while True:
            try:
                call = calls.popleft()
            except IndexError:
                return
            job.call = call
            run, key, func, transport, input_data, attempt = call
            if attempt is not None:
                attempt.begin()
            if started.receivers:
                task_event(started, run, key)
            try:
                outcome = (run, key, run_activity(func, transport, key, input_data), None,
                           attempt)
            except BaseException as exc:  # reported as the activity's failure
                outcome = (run, key, None, exc, attempt)
            done.append(outcome)
            job.call = None
            if self.loop_waits:
                self.loop_waits = False
                if not step_here():
                    post(self.take_done)

    def _job_failed(self, job, exc):
        # A fault of the engine, not of an activity.  The call in hand fails with it.
        # A job that failed before taking any call fails the next queued one instead:
        # jobs started one after another to replace it could otherwise loop forever.
        logger.error('the local engine failed while running activities on threads',
                     exc_info=exc)
        call = job.call
        if call is _SETTING_UP:
            try:
                call = self.calls.popleft()
            except IndexError:
                call = None
        if call is None:
            return
        error = RuntimeError('the local engine failed while running this activity: %s'
                             % exception_text(exc))
        error.__cause__ = exc
        self.done.append((call[0], call[1], None, error, call[5]))
        self.engine.post(self.take_done)


_SETTING_UP = ()  # the call of a job that has not started taking calls yet


class _Job:
    """The heartbeat reporter of one drain job: it knows the call the job is running.

    It also says which run and call that is, for :func:`flowy.context`.
    """

    __slots__ = ('call',)

    def __init__(self):
        self.call = _SETTING_UP

    def __call__(self, details=None):
        encode_details(details)
        return answer_heartbeat(self.call)

    def context(self):
        call = self.call
        if not call:
            return None
        return call_context(call[0], call[1])


def answer_heartbeat(call):
    """What :func:`flowy.heartbeat` answers in ``call`` (``(run, key, func, transport,
    input, attempt)``, or nothing): True once it timed out, was cancelled or is unwanted."""
    if not call:
        return True
    attempt = call[5]
    if attempt is not None:
        attempt.beat()
        if attempt.timed_out:
            return True
    return call[0].heartbeat(call[1])


def call_context(run, key):
    """The :class:`~flowy.Context` of the activity call ``key`` of ``run``."""
    workflow_id, run_id = run.history.ids
    return Context(run.config.name, workflow_id, run_id, key, attempt_of(key))


class Attempt:
    """The timeouts of one attempt of an activity on threads.

    The worker thread calls :meth:`begin` when it starts the attempt and :meth:`beat` at
    each heartbeat (it only writes a time); everything else happens on the event loop.
    Deadlines are timers of the engine: the heartbeat timer, when it comes, looks at the
    last heartbeat and either times the attempt out or waits for the next deadline, so a
    heartbeat costs no more than reading the clock.  A thread cannot be stopped: a
    timed-out attempt keeps running, its heartbeats answer True, and its outcome is
    dropped when it comes.  On a worker process, :attr:`stop` (set by the pool) kills
    the process as the attempt times out.
    """

    __slots__ = ('engine', 'run', 'key', 'timeout', 'heartbeat', 'started', 'last_beat',
                 'timed_out', 'settled', 'timers', 'stop')

    def __init__(self, engine, run, key, timeout, heartbeat):
        self.engine = engine
        self.run = run
        self.key = key
        self.timeout = timeout
        self.heartbeat = heartbeat
        self.started = self.last_beat = None
        self.timed_out = False  # read by the attempt's thread
        self.settled = False  # its outcome (or its timeout) is recorded
        self.timers = []
        self.stop = None

    def begin(self):
        """In the worker thread, as the attempt starts: its timeouts count from now."""
        self.started = self.last_beat = self.engine.clock()
        self.engine.post(self._arm)

    def beat(self):
        """In the worker thread, at each heartbeat."""
        self.last_beat = self.engine.clock()

    def close(self):
        """On the loop, as the outcome arrives: True if it is to be recorded."""
        if self.settled:
            return False
        self.settled = True
        self._cancel_timers()
        return True

    def _arm(self):
        if self.settled:
            return
        engine = self.engine
        if self.timeout is not None:
            self.timers.append(engine.at(self.started + self.timeout, self._ran_too_long))
        if self.heartbeat is not None:
            self.timers.append(engine.at(self.started + self.heartbeat, self._check_beat))

    def _ran_too_long(self):
        self._expire('ran longer than its timeout of %g s (start-to-close)' % self.timeout)

    def _check_beat(self):
        if self.settled:
            return
        due = self.last_beat + self.heartbeat
        if due > self.engine.clock():
            self.timers = [timer for timer in self.timers if timer.live]
            self.timers.append(self.engine.at(due, self._check_beat))
        else:
            self._expire('no heartbeat for %g s (heartbeat timeout)' % self.heartbeat)

    def _expire(self, why):
        if self.settled:
            return
        self.settled = self.timed_out = True
        self._cancel_timers()
        if self.stop is not None:
            self.stop()
        self.engine.activity_ended()
        self.run.timed_out(self.key, '%s timed out: %s' % (self.key, why))

    def _cancel_timers(self):
        cancel = self.engine.cancel
        for timer in self.timers:
            cancel(timer)
        self.timers = []
