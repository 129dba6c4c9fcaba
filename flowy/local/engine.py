"""The local engine's event loop: workflow bodies in this process, activities on a pool.

One ``run()`` owns an event loop on the calling thread.  Finished activities (and, with
the replay driver, finished decisions) post events to a queue; the loop records outcomes
in each run's history in the order they arrive, which is the finish order, and once the
events at hand are recorded, decides every run that has news.  With the cached driver
the decision is made right there (each body lives in a thread of its own); with the
replay driver it goes to a decider thread, and outcomes arriving meanwhile are batched
into the next one.  When nothing is left that could ever move the run on, the loop says
so and fails it, instead of waiting forever (unless a signal or a cancel may still come).

Whoever holds :attr:`Engine.loop_lock` does the loop's work: the loop's own thread, or,
while that thread waits for events, a worker thread whose call has just ended
(:meth:`Engine.step_here`), which saves two thread hand-offs per step of a dependent
chain.  Timers (:mod:`flowy.local.timers`) bound the loop's waits; messages from
outside (:mod:`flowy.local.messages`) arrive as events.
"""

import concurrent.futures
import inspect
import logging
import queue
import threading
import uuid
from concurrent.futures import BrokenExecutor, ThreadPoolExecutor
from functools import partial

from .. import events
from ..config import WORKFLOW
from ..decision import Cancelled, Fail, Finish
from ..drivers.cached import CachedDriver
from ..drivers.replay import replay
from ..errors import TaskCancelled, TaskError, adopt_call_error
from ..history import is_builtin
from .feeder import ThreadFeeder
from .messages import Messages, RunEnded
from .observing import task_event
from .run import Run
from .runner import run_in_worker
from .store_records import StoreError
from .timers import Timers
from .workers import ProcessFeeder, WorkerPool

__all__ = ['Engine', 'RunEnded']

logger = logging.getLogger('flowy')

# Every run of an engine (the root, children, restarts) stays live in the cached driver:
# on one machine the bound only guards against runaway numbers of child workflows.
_LIVE_RUNS = 4096


class Engine(Messages, Timers):
    """The event loop of one ``LocalWorkflow.run()`` and the runs it drives."""

    def __init__(self, root, wait, tracer, name=None, reachable=False):
        self.root = root
        self.wait = wait
        self.tracer = tracer
        self.events = queue.SimpleQueue()
        self.outcome = None
        self.in_flight = 0  # activities started whose outcome is not recorded yet
        self.deciding = 0  # decisions handed to decider threads and not back yet
        self.deferred = {}
        self.waiting = {}
        self.live = {}  # runs that have not ended, in the order they started
        # Only a replay gains from holding decisions back (see busy()).
        self.busy_at = root.activity_workers if root.driver == 'replay' else float('inf')
        self.driver = driver_for(root.driver)
        self.inline = root.driver == 'cached'
        # A body that makes thousands of calls hands them over in slices, so that the
        # workers start on the first ones while it makes the rest.  (A replay would
        # pay a whole replay per slice.)
        self.calls_per_decision = 32 * root.activity_workers if self.inline else None
        self.pools = None
        self.feeder = None
        self.async_feeder = None  # started by the first async def activity
        self.feeders = {}  # TaskSpec -> the feeder of its calls
        self.futures = set()
        self._runs = 0
        self._open_timers()
        self.closed = False  # read by the heartbeats of activities on other threads
        self.store = root.store  # a run store, or None: runs live in memory
        self.name = name  # the id of the root run when there is no store
        self.top = None  # the root run, or the run it restarted as
        self._names = {}  # workflow id -> runs of it started so far (restarts)
        # A run that waits for nothing running may still get a signal or a cancel when
        # it can be reached: through a handle (start()) or the store's inbox.
        self.reachable = reachable or self.store is not None
        self._warned_idle = False
        self._open_messages()
        # Held by whoever does the loop's work: its thread, or a worker (step_here).
        self.loop_lock = threading.Lock()
        self.loop_blocked = False  # the loop's thread waits for events (or for the lock)

    def post(self, event):
        self.events.put(event)

    def run(self, input_data, run_id=None, loaded=None):
        """Drive the root run to its end; ``run_id`` and ``loaded`` come from a store."""
        interrupted = False
        try:
            self.pools = self.root._pools.acquire()
            pool = self.pools.activity
            if isinstance(pool, ThreadPoolExecutor):
                self.feeder = ThreadFeeder(self, pool, self.root.activity_workers)
            elif isinstance(pool, WorkerPool):
                self.feeder = ProcessFeeder(self, pool)
            root = Run(self, self.root, input_data, run_id=run_id,
                       history=None if loaded is None else loaded.history)
            if loaded is not None:
                root.resume(loaded.pending)
            root.decide()
            if self.store is not None:
                self._inbox_timer = self.after(self.inbox_every, self._read_inbox)
            self._loop()
        except BaseException:
            interrupted = True
            raise
        finally:
            self._shutdown(interrupted)
        outcome = self.outcome
        if type(outcome) is Finish:
            return self.root.transport.loads(outcome.result)
        error = (TaskCancelled if type(outcome) is Cancelled else TaskError)(
            outcome.reason, getattr(outcome.error, 'key', None))
        error.__cause__ = outcome.error
        raise adopt_call_error(error)  # a call's error left unhandled: its key, type...

    def _loop(self):
        self.loop_lock.acquire()
        try:
            while True:
                self._decide_waiting()
                if self.outcome is not None:
                    return
                self._take_news()
        finally:
            self.loop_lock.release()

    def _wait_for_event(self):
        """The next event, or None once the first deadline has passed.

        While the loop waits it lets go of :attr:`loop_lock`: a worker thread that ends
        a call meanwhile may take it and do the loop's work itself (:meth:`step_here`).
        """
        self.loop_blocked = True
        self.loop_lock.release()
        try:
            return self.events.get(timeout=self._until_deadline())
        except queue.Empty:
            return None
        finally:
            self.loop_lock.acquire()
            self.loop_blocked = False

    def step_here(self):
        """From a worker thread whose call just ended: do the loop's work here, if the
        loop waits; True if done (else the caller wakes the loop as usual).

        A dependent chain then costs what the pool itself costs per step: the worker
        records the outcome, decides, and takes the next call, without handing each
        step to the loop's thread and back.
        """
        lock = self.loop_lock
        if not lock.acquire(blocking=False):
            return False
        try:
            if not self.loop_blocked or self.outcome is not None:
                return False
            feeder, deadline = self.feeder, self._next_deadline()
            while True:
                try:
                    feeder.take_done()
                    self._drain()
                    self._decide_waiting()
                except BaseException as exc:  # the loop's thread raises it, as its own
                    self.post(partial(_reraise, exc))
                    return True
                after = self._next_deadline()
                if (self.outcome is not None or (after is not None and (
                        deadline is None or after < deadline)) or self._stalled()):
                    self.post(_wake)  # the loop has something to do, or to stop
                    return True
                # The loop's thread still waits: from here on a call that ends wakes
                # it (or does this again).  An outcome that came in meanwhile found
                # nobody to tell: take it now, or it would wait for the next one.
                feeder.loop_waits = True
                if not feeder.done:
                    return True
                feeder.loop_waits = False
        finally:
            lock.release()

    def _take_news(self):
        """Record what has arrived, waiting for it if nothing has."""
        timers = self.timers
        if timers and timers[0][0] <= self.clock():
            self._run_timers()
            return  # decide on what they brought before waiting for more
        feeder = self.feeder
        if feeder is not None:
            feeder.loop_waits = True  # from here on a job that ends a call wakes the loop
            if feeder.done:
                feeder.loop_waits = False
                feeder.take_done()
                self._drain()  # events too, however busy the workers keep the loop
                return
        if self._stalled():
            self._fail_stalled()
            return
        event = self._wait_for_event()
        if feeder is not None:
            feeder.loop_waits = False
        if event is None:
            self._release(expired_only=True)
        else:
            event()
            self._drain()
        if feeder is not None:
            feeder.take_done()

    def _drain(self, limit=10000):
        # Whatever else has arrived goes into the same decisions.
        get = self.events.get_nowait
        for _ in range(limit):
            try:
                event = get()
            except queue.Empty:
                return
            event()

    def want_decision(self, run):
        """``run`` has news; it is decided once the events at hand are recorded."""
        self.waiting[run] = None

    def _decide_waiting(self):
        while self.waiting and self.outcome is None:
            waiting, self.waiting = self.waiting, {}
            for run in waiting:
                run.decide_now()

    # -- runs ---------------------------------------------------------------------------

    def run_started(self, run, run_id=None):
        """Register a new run; returns its id (``run_id``, its id in the store, if given)."""
        self.live[run] = None
        self._runs += 1
        if run.parent is None:
            self.top = run
        return self._runs if run_id is None else run_id

    def run_name(self, run, run_id, workflow_id):
        """The id ``flowy.context()`` reports for ``run``: its store id, or one made as the
        store makes them (``<root>``, ``<parent>/<call key>``, ``<first run>+<n>``)."""
        if run_id is not None:
            return run_id
        if workflow_id is not None:
            count = self._names.get(workflow_id, 0) + 1
            self._names[workflow_id] = count
            return '%s+%d' % (workflow_id, count)
        if run.parent is not None:
            return '%s/%s' % (run.parent.history.ids[1], run.key)
        if self.name is None:
            self.name = '%s-%s' % (self.root.name, uuid.uuid4().hex[:12])
        return self.name

    def _stalled(self):
        """True when nothing that is running or queued can ever move a run on.

        Called only when no run waits for a decision; every count is kept as things
        start and end, so the check costs the same whatever the size of the run.
        """
        service = 1 if self._inbox_timer is not None and self._inbox_timer.live else 0
        return (self.in_flight == 0 and self.deciding == 0 and not self.deferred
                and self.live_timers == service and self.events.empty())

    def _fail_stalled(self):
        top = next(run for run in self.live if run.parent is None)
        waits = self._waits_of(top)
        if self.reachable:
            # A signal or a cancel may still come: wait for it (events or the inbox).
            if not self._warned_idle:
                self._warned_idle = True
                logger.info('run %s waits for %s, which no running call will finish: it '
                            'waits for a signal or a cancel', top.id, waits)
            event = self._wait_for_event()
            if event is None:
                self._release(expired_only=True)
                return
            self._warned_idle = False
            event()
            self._drain()
            return
        hint = ''
        if is_builtin(top.waiting_for or ' ') and top.waiting_for.startswith('@signal'):
            hint = (' (nothing can send this run a signal: start it with start(), whose '
                    'handle has signal(), or give the workflow a run store)')
        top.conclude(Fail('the workflow can make no progress: it waits for %s, which no '
                          'running call will ever finish%s' % (waits, hint)))

    def _waits_of(self, run):
        # Follow the waits down through child workflows to the run that is stuck.
        waits = []
        while run is not None:
            waits.append(run.waiting_for or 'a result')
            run = self._child(run, run.waiting_for)
        return ', which waits for '.join(waits)

    def _child(self, parent, key):
        if key is None:
            return None
        for run in self.live:
            if run.parent is parent and run.key == key:
                return run
        return None

    # -- holding replay decisions back ------------------------------------------------------

    def busy(self):
        """True while every activity worker has work.

        A replay costs O(calls made so far) whatever the news, so while no worker is
        idle a run's decision may wait for more outcomes to pile up; see :meth:`defer`.
        """
        return self.in_flight >= self.busy_at

    def defer(self, run):
        """Hold ``run``'s next decision until a worker is idle, or for one decision time.

        Waiting at most as long as the run's last decision took keeps the replay work
        at half the time or less, and delays an outcome that ends the run by no more
        than one decision.
        """
        if run not in self.deferred:
            self.deferred[run] = self.clock() + run.last_duration

    def _release(self, expired_only=False):
        now = self.clock()
        due = [run for run, deadline in self.deferred.items()
               if not expired_only or deadline <= now]
        for run in due:
            del self.deferred[run]
            run.decide_now(defer=False)

    # -- which feeder runs an activity -----------------------------------------------------

    def feeder_for(self, spec):
        """The feeder of ``spec``'s calls: the asyncio loop's for ``async def`` activities,
        the pool's otherwise (None: a pool without a feeder, see submit_activity)."""
        if not inspect.iscoroutinefunction(spec.target):
            feeder = self.feeder
        else:
            if self.async_feeder is None:
                from .async_feeder import AsyncFeeder  # asyncio only for runs that need it
                self.async_feeder = AsyncFeeder(self)
            feeder = self.async_feeder
        if feeder is not None:
            self.feeders[spec] = feeder  # looked up by every call of the spec
        return feeder

    def stop_activity(self, run, spec, key):
        """Stop call ``key`` of ``run`` if it is queued or can be stopped where it runs;
        True if no outcome will come for it."""
        feeder = self.feeder_for(spec) if spec.kind is not WORKFLOW else None
        return feeder is not None and feeder.stop(run, key)

    # -- activities on a pool without a feeder ------------------------------------------------

    def submit_activity(self, run, spec, key, input_data):
        pools = self.pools
        pool = pools.activity
        args = (spec.target, spec.transport, key, input_data,
                (run.config.name,) + run.history.ids)
        try:
            future = pool.submit(run_in_worker, *args)
        except BrokenExecutor:
            self.root._pools.replace_activity_pool(pools, pool)
            future = pools.activity.submit(run_in_worker, *args)
        self.in_flight += 1
        self.futures.add(future)
        task_event(events.task_started, run, key)  # as far as the engine can see
        future.add_done_callback(partial(run._post, partial(run.future_done, key)))

    def activity_ended(self, future=None):
        if future is not None:
            self.futures.discard(future)
        self.in_flight -= 1
        if self.deferred and not self.busy():
            self._release()

    def activity_failed(self, exc):
        pool = self.pools.activity
        if isinstance(exc, BrokenExecutor) and getattr(pool, '_broken', False):
            self.root._pools.replace_activity_pool(self.pools, pool)

    # -- the end ------------------------------------------------------------------------

    def _shutdown(self, interrupted):
        self.closed = True
        self._refuse_messages()
        if self.store is not None:
            self._mark_interrupted()
        if isinstance(self.driver, CachedDriver):
            self.driver.close()
        if self.pools is None:
            return
        for future in list(self.futures):
            future.cancel()  # only those that have not started
        if self.async_feeder is not None:
            self.async_feeder.close(wait=self.wait and not interrupted)
        if self.feeder is not None:
            self.feeder.cancel()
        if self.wait and not interrupted:
            concurrent.futures.wait(list(self.futures))
            if self.feeder is not None:
                self.feeder.wait()
        # Work left by an interrupted run is unwanted: its pools are retired, and their
        # workers killed once no other run uses them.
        self.root._pools.release(self.pools, interrupted)


    def _mark_interrupted(self):
        """In one transaction, mark each run still held as interrupted (resumable)."""
        store = self.store
        held = [run.id for run in self.live if store.holds(run.id)]
        if not held:
            return
        try:
            with store.transaction() as tx:
                for run_id in held:
                    tx.run(run_id).interrupt()
        except StoreError as exc:
            logger.warning('could not mark runs %s interrupted in the run store: %s',
                           ', '.join(held), exc)


def _wake():
    """An event that only wakes the loop, to look at its deadlines and its outcome."""


def _reraise(exc):
    raise exc


def driver_for(name):
    return replay if name == 'replay' else CachedDriver(_LIVE_RUNS)
