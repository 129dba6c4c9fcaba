"""The local engine: workflow bodies in this process, activities on an executor.

One ``run()`` owns an event loop on the calling thread.  Finished activities (and, with
the replay driver, finished decisions) post events to a queue; the loop records outcomes
in each run's history in the order they arrive, which is the finish order, and once the
events at hand are recorded, decides every run that has news.  With the cached driver
the decision is made right there (each body lives in a thread of its own); with the
replay driver it goes to a decider thread, and outcomes arriving meanwhile are batched
into the next one.
"""

import collections
import concurrent.futures
import copy
import logging
import os
import pickle
import queue
import threading
import time
import weakref
from concurrent.futures import (
    BrokenExecutor,
    CancelledError,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from functools import partial

from ..config import ACTIVITY, WORKFLOW, TaskSpec, WorkflowConfig, check_transport
from ..decision import FailCall, Finish, Restart
from ..drivers.cached import CachedDriver
from ..drivers.replay import replay
from ..errors import TaskError
from ..heartbeat import _reporting
from ..history import History

__all__ = ['LocalWorkflow']

logger = logging.getLogger('flowy')


class LocalWorkflow(WorkflowConfig):
    """Run a workflow on this machine.

    ``factory`` builds the workflow from its tasks (usually the workflow class).
    Activities run on ``executor(max_workers=activity_workers)``, a process pool by
    default (then activities must be picklable: defined at module level).  Workflow
    bodies run in this process: with ``driver='cached'`` (the default) each stays alive
    in a thread of its own; with ``driver='replay'`` they are replayed on
    ``workflow_workers`` decider threads.  The pools are started by the first run and
    kept for later ones (see :meth:`close`).  A child workflow (``conf_workflow``) runs
    on the pools of the run that started it.

    :func:`flowy.heartbeat` in an activity running on threads returns True once the
    run that called it has ended (finished, failed, restarted or interrupted, or its
    parent or the whole ``run()`` has), so that a long activity whose result nobody
    will read can stop early.  Activities on processes cannot see that: there it always
    returns False, as it does in a plain call.
    """

    def __init__(self, factory, activity_workers=8, workflow_workers=2,
                 executor=ProcessPoolExecutor, transport=None, driver='cached'):
        super().__init__(factory, transport)
        if driver not in _DRIVERS:
            raise ValueError("driver must be 'cached' (keep each body alive between "
                             "decisions) or 'replay' (run it from the top each time); got %r"
                             % (driver,))
        self.driver = driver
        for name, value in (('activity_workers', activity_workers),
                            ('workflow_workers', workflow_workers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError('%s must be an integer greater than 0; got %r' % (name, value))
        if not callable(executor):
            raise TypeError('executor must be an Executor class (or a callable taking '
                            'max_workers), such as ThreadPoolExecutor; got %r' % (executor,))
        self.activity_workers = activity_workers
        self.workflow_workers = workflow_workers
        self.executor = executor
        self._pools = None
        self._pools_lock = threading.Lock()

    @property
    def uses_processes(self):
        return isinstance(self.executor, type) and issubclass(self.executor, ProcessPoolExecutor)

    def conf_activity(self, dep, func, transport=None):
        """Give the workflow's ``dep`` argument a task that runs ``func`` as an activity.

        ``func`` is called with the arguments of each call, after a round trip through
        ``transport`` (tagged JSON by default), and its return value travels back the
        same way.
        """
        if not callable(func):
            hint = ''
            if callable(getattr(func, '__wrapped__', None)) or hasattr(func, '__factory__'):
                hint = ' (it looks like a task result: pass the function, not a call of it)'
            raise TypeError('the activity for %r must be callable; got %r%s' % (dep, func, hint))
        spec = TaskSpec(dep, ACTIVITY, func, transport)
        if self.uses_processes:
            _check_picklable(dep, func, spec.transport)
        self._add_task(spec)

    def conf_workflow(self, dep, workflow, transport=None):
        """Give ``dep`` a task that runs ``workflow`` (a LocalWorkflow) as a child workflow."""
        if not isinstance(workflow, LocalWorkflow):
            raise TypeError('conf_workflow(%r, ...) needs a LocalWorkflow to run as the child '
                            'workflow; got %r (for a plain function use conf_activity)'
                            % (dep, workflow))
        if transport is not None and transport is not workflow.transport:
            # The child's input and result travel with the transport given here: the
            # child runs as a copy of its configuration that uses it (tasks are shared).
            workflow = copy.copy(workflow)
            workflow.transport = check_transport(transport)
        self._add_task(TaskSpec(dep, WORKFLOW, workflow, workflow.transport))

    def run(self, *args, _wait=False, _trace=None, **kwargs):
        """Run the workflow with these arguments; return its result or raise TaskError.

        ``_wait=True`` waits, after the result is known, for activities still running
        (by default they are abandoned and queued ones cancelled).  ``_trace`` records
        the run: pass a :class:`~flowy.local.Tracer`, or a path such as ``'out/run'`` to
        write ``out/run.dot`` (and ``out/run.svg`` when Graphviz is installed).
        """
        self._check_tree()
        input_data = self.encode_input(args, kwargs)
        tracer, path = _tracer_for(_trace)
        try:
            return _Engine(self, _wait, tracer).run(input_data)
        finally:
            if path is not None:
                tracer.write(path)

    def close(self):
        """Shut down the pools kept between runs (a later run starts new ones).

        ``with LocalWorkflow(...) as w:`` closes them on leaving the block; otherwise
        they live until the workflow is garbage collected or the interpreter exits.
        """
        with self._pools_lock:
            pools, self._pools = self._pools, None
        if pools is not None:
            for pool in filter(None, pools):
                pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _acquire_pools(self):
        """The activity pool and the decider threads, started once and reused."""
        with self._pools_lock:
            if self._pools is None:
                # Only the replay driver decides on decider threads.
                deciders = None if self.driver != 'replay' else ThreadPoolExecutor(
                    max_workers=self.workflow_workers, thread_name_prefix='flowy-decider')
                self._pools = [_start_pool(self), deciders]
                _WITH_POOLS.add(self)
            return self._pools

    def _replace_activity_pool(self, broken):
        with self._pools_lock:
            if self._pools is not None and self._pools[0] is broken:
                logger.warning('the activity pool broke (a worker died); starting a new one')
                broken.shutdown(wait=False, cancel_futures=True)
                self._pools[0] = _start_pool(self)

    def _discard_pools(self):
        with self._pools_lock:
            pools, self._pools = self._pools, None
        if pools is not None:
            _terminate_workers(pools[0])
            for pool in filter(None, pools):
                pool.shutdown(wait=False, cancel_futures=True)

    def _check_tree(self):
        for config in self._tree():
            config.check_factory()
            if self.uses_processes:
                for spec in config.specs.values():
                    if spec.kind is ACTIVITY:
                        _check_picklable(spec.dep, spec.target, spec.transport)

    def _tree(self):
        seen, todo = [], [self]
        while todo:
            config = todo.pop()
            if any(config is other for other in seen):
                continue
            seen.append(config)
            todo.extend(spec.target for spec in config.specs.values() if spec.kind is WORKFLOW)
        return seen


def _check_picklable(dep, func, transport):
    for what, value in (('activity', func), ('transport', transport)):
        try:
            pickle.dumps(value)
        except Exception as exc:
            raise TypeError(
                'the %s for %r (%r) cannot be sent to a worker process: %s. Define it at '
                'module level, or run on threads: LocalWorkflow(..., '
                'executor=ThreadPoolExecutor)' % (what, dep, value, exc)) from exc


def _tracer_for(trace):
    if trace is None or trace is False:
        return None, None
    from .tracer import Tracer
    if isinstance(trace, Tracer):
        return trace, None
    if trace is True:
        import tempfile
        trace = os.path.join(tempfile.mkdtemp(prefix='flowy-trace-'), 'trace')
        logger.warning('tracing this run to %s.dot', trace)
    return Tracer(), os.fspath(trace)


def run_activity(func, transport, key, input_data):
    """Run one activity call in a worker: decode, call, encode."""
    args, kwargs = transport.loads(input_data)
    try:
        value = func(*args, **kwargs)
    except Exception as exc:
        if _travels(exc):
            raise
        # An exception that cannot be rebuilt in the parent would break the whole
        # process pool; send its message instead (the traceback text still travels).
        raise TaskError(str(exc) or type(exc).__name__, key) from exc
    try:
        return transport.dumps(value)
    except Exception as exc:
        raise TypeError('cannot serialize the result of %s: %s' % (key, exc)) from exc


def _travels(exc):
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return False
    return True


def _failure_reason(exc):
    if isinstance(exc, BrokenExecutor):
        return ('the worker running this activity died unexpectedly (killed, out of memory, '
                'or crashed): %s' % (exc or type(exc).__name__))
    if isinstance(exc, CancelledError):
        return 'the activity was cancelled'
    return str(exc) or type(exc).__name__


class _Engine:
    """The pools and event loop of one ``LocalWorkflow.run()``."""

    def __init__(self, root, wait, tracer):
        self.root = root
        self.wait = wait
        self.tracer = tracer
        self.events = queue.SimpleQueue()
        self.outcome = None
        self.in_flight = 0
        self.deferred = {}
        # Only a replay gains from holding decisions back (see busy()).
        self.busy_at = root.activity_workers if root.driver == 'replay' else float('inf')
        # Every run of this engine (the root, children, restarts) stays live: on one
        # machine the bound only guards against runaway numbers of child workflows.
        self.driver = replay if root.driver == 'replay' else CachedDriver(_LIVE_RUNS)
        self.inline = root.driver == 'cached'
        # A body that makes thousands of calls hands them over in slices, so that the
        # workers start on the first ones while it makes the rest.  (A replay would
        # pay a whole replay per slice.)
        self.calls_per_decision = 32 * root.activity_workers if self.inline else None
        self.pools = root._acquire_pools()
        self.deciders = self.pools[1]
        self.futures = set()
        pool = self.pools[0]
        self.feeder = (_ThreadFeeder(self, pool, root.activity_workers)
                       if isinstance(pool, ThreadPoolExecutor) else None)
        self.waiting = {}
        self._runs = 0
        self.closed = False  # read by the heartbeats of activities on other threads

    def post(self, event):
        self.events.put(event)

    def run(self, input_data):
        interrupted = False
        try:
            _Run(self, self.root, input_data).decide()
            self._decide_waiting()
            while self.outcome is None:
                try:
                    event = self.events.get(timeout=self._until_deadline())
                except queue.Empty:
                    self._release(expired_only=True)
                else:
                    event()
                    self._drain()
                self._decide_waiting()
        except BaseException:
            interrupted = True
            raise
        finally:
            self._shutdown(interrupted)
        outcome = self.outcome
        if type(outcome) is Finish:
            return self.root.transport.loads(outcome.result)
        error = TaskError(outcome.reason, getattr(outcome.error, 'key', None))
        raise error from outcome.error

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

    def next_run_id(self):
        self._runs += 1
        return self._runs

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
            self.deferred[run] = time.monotonic() + run.last_duration

    def _until_deadline(self):
        if not self.deferred:
            return None
        return max(0.0, min(self.deferred.values()) - time.monotonic())

    def _release(self, expired_only=False):
        now = time.monotonic()
        due = [run for run, deadline in self.deferred.items()
               if not expired_only or deadline <= now]
        for run in due:
            del self.deferred[run]
            run.decide_now(defer=False)

    def start_activity(self, run, spec, key, input_data):
        if self.feeder is not None:
            self.in_flight += 1
            self.feeder.submit(run, key, spec.target, spec.transport, input_data)
            return
        future = self.submit_activity(spec.target, spec.transport, key, input_data)
        future.add_done_callback(partial(run._post, partial(run._activity_done, key)))

    def submit_activity(self, func, transport, key, input_data):
        self.in_flight += 1
        pool = self.pools[0]
        try:
            future = pool.submit(run_activity, func, transport, key, input_data)
        except BrokenExecutor:
            self.root._replace_activity_pool(pool)
            future = self.pools[0].submit(run_activity, func, transport, key, input_data)
        self.futures.add(future)
        return future

    def activity_ended(self, future=None):
        if future is not None:
            self.futures.discard(future)
        self.in_flight -= 1
        if self.deferred and not self.busy():
            self._release()

    def activity_failed(self, exc):
        pool = self.pools[0]
        if isinstance(exc, BrokenExecutor) and getattr(pool, '_broken', False):
            self.root._replace_activity_pool(pool)

    def forget(self, history):
        forget = getattr(self.driver, 'forget', None)
        if forget is not None:
            forget(history)

    def _shutdown(self, interrupted):
        self.closed = True
        if isinstance(self.driver, CachedDriver):
            self.driver.close()
        if interrupted:
            # The pools may hold work of this run that nobody waits for any more.
            if self.feeder is not None:
                self.feeder.cancel()
            self.root._discard_pools()
            return
        for future in list(self.futures):
            future.cancel()  # only those that have not started
        if self.feeder is not None:
            self.feeder.cancel()
        if self.wait:
            concurrent.futures.wait(list(self.futures))
            if self.feeder is not None:
                self.feeder.wait()


class _ThreadFeeder:
    """Feeds activities to a thread pool's threads from one queue, without a Future each.

    A future per call costs more than a small activity itself.  Instead, up to one
    drain job per worker takes calls from a shared queue until it is empty, reporting
    each outcome to the event loop as it ends: the finish order stays exact, and no
    worker sits idle while calls are queued.
    """

    def __init__(self, engine, pool, workers):
        self.engine = engine
        self.pool = pool
        self.workers = workers
        self.calls = collections.deque()
        self.draining = 0
        self.jobs = set()
        self.fast = set()  # activities seen to take less than _QUICK seconds

    def submit(self, run, key, func, transport, input_data):
        self.calls.append((run, key, func, transport, input_data))
        if self.draining < self.workers:
            self._start_job()

    def _start_job(self):
        self.draining += 1
        job = self.pool.submit(self._drain)
        self.jobs.add(job)
        job.add_done_callback(self.jobs.discard)

    def _drain(self):
        # One heartbeat reporter per job (cheaper than one per call), told the run of
        # each call the job takes.
        heartbeat = _Heartbeat()
        with _reporting(heartbeat):
            self._drain_calls(heartbeat)

    def _drain_calls(self, heartbeat):
        calls, post, clock, fast = self.calls, self.engine.post, time.monotonic, self.fast
        finished, since = [], 0.0
        while True:
            try:
                run, key, func, transport, input_data = calls.popleft()
            except IndexError:
                break
            # Outcomes of quick activities go to the event loop together, which spares
            # it thousands of wake-ups; anything else is reported before a call that
            # might take a while, so no outcome waits behind a slow activity.
            if finished and func not in fast:
                post(partial(_report, finished))
                finished = []
            start = clock()
            heartbeat.run = run
            try:
                finished.append((run, key, run_activity(func, transport, key, input_data),
                                 None))
            except BaseException as exc:  # reported as the activity's failure
                finished.append((run, key, None, exc))
            now = clock()
            if now - start < _QUICK:
                fast.add(func)
            else:
                fast.discard(func)
            if len(finished) == 1:
                since = now
            if not calls or len(finished) >= 64 or now - since > _QUICK:
                post(partial(_report, finished))
                finished = []
        if finished:
            post(partial(_report, finished))
        post(self._job_ended)

    def _job_ended(self):
        self.draining -= 1
        if self.calls and self.draining < self.workers:
            self._start_job()  # a call queued while this job was leaving

    def cancel(self):
        """Drop the calls no job has taken yet."""
        self.calls.clear()

    def wait(self):
        concurrent.futures.wait(list(self.jobs))


_QUICK = 0.0005


class _Heartbeat:
    """Answers :func:`flowy.heartbeat` in activities on threads: see :meth:`_Run.heartbeat`."""

    __slots__ = ('run',)

    def __init__(self):
        self.run = None

    def __call__(self, details=None):
        return self.run.heartbeat(details)


def _report(finished):
    for run, key, data, exc in finished:
        run.activity_done(key, data, exc)


_DRIVERS = ('cached', 'replay')
_LIVE_RUNS = 4096

# Workflows holding pools, so that tests (and tools) can close them all.
_WITH_POOLS = weakref.WeakSet()


def close_all():
    """Close the pools of every LocalWorkflow that has some."""
    for workflow in list(_WITH_POOLS):
        workflow.close()


def _timed(driver, config, input_data, history, limit=None):
    start = time.perf_counter()
    decision = driver(config, input_data, history, limit=limit)
    return decision, time.perf_counter() - start


def _noop():
    return None


def _start_pool(config):
    """Create the activity pool; start a process pool's workers at once.

    A process pool forks its workers on first use.  Doing that now, before this run's
    decider threads exist, keeps forked workers from inheriting locks held by them.
    """
    pool = config.executor(max_workers=config.activity_workers)
    if isinstance(pool, ProcessPoolExecutor):
        pool.submit(_noop).result()
    return pool


def _terminate_workers(executor):
    terminate = getattr(executor, 'terminate_workers', None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(executor, '_processes', None) or {}).values()):
        process.terminate()


class _Run:
    """One execution of one workflow (the root, a child, or a restarted run)."""

    def __init__(self, engine, config, input_data, parent=None, key=None):
        self.engine = engine
        self.config = config
        self.input_data = input_data
        self.parent = parent
        self.key = key
        self.history = History()
        self.inbox = []
        self.deciding = False
        self.again = False
        self.done = False
        self.decisions = 0
        self.last_duration = 0.0
        self.id = engine.next_run_id()
        if engine.tracer is not None:
            engine.tracer.workflow_started(self.id, config.name, parent and parent.id, key)

    def decide(self):
        """Ask for a decision of this run (made once the events at hand are recorded)."""
        if not self.done:
            self.engine.want_decision(self)

    def decide_now(self, defer=True):
        if self.deciding:
            self.again = True
            return
        if self.done:
            return
        if defer and self.engine.busy():
            self.engine.defer(self)
            return
        self.deciding = True
        if self.engine.inline:
            # A cached decision costs what its news costs: make it right here, on the
            # event loop, rather than hand it to a decider thread and back.
            self._decided(None, _timed(self.engine.driver, self.config, self.input_data,
                                       self.history, self.engine.calls_per_decision))
            return
        future = self.engine.deciders.submit(_timed, self.engine.driver, self.config,
                                             self.input_data, self.history)
        future.add_done_callback(partial(self._post, self._decided))

    def heartbeat(self, details=None):
        """The answer to :func:`flowy.heartbeat` in this run's activities on threads.

        True once this run, one of its ancestors, or the engine has ended: nobody will
        read the activity's result.  Called from the activity's thread; it only reads
        flags the event loop sets.
        """
        if self.engine.closed:
            return True
        run = self
        while run is not None:
            if run.done:
                return True
            run = run.parent
        return False

    def _post(self, handler, future):
        self.engine.post(partial(handler, future))

    def _decided(self, future, timed=None):
        self.deciding = False
        if self.done:
            return
        # The driver turns workflow errors into a Fail: future.result() raises only for
        # a bug in flowy itself.
        decision, self.last_duration = timed if future is None else future.result()
        self.decisions += 1
        for call in decision.calls:
            self._start(call)
        if decision.more:
            self.again = True
        if decision.outcome is not None:
            self._conclude(decision.outcome)
            return
        inbox, self.inbox = self.inbox, []
        for record in inbox:
            record()
        if self.again or inbox:
            self.again = False
            self.decide()

    def _start(self, call):
        history, tracer = self.history, self.engine.tracer
        spec = self.config.specs[call.dep]
        if type(call) is FailCall:
            history.failed(call.key, call.reason, call.cause, call.position)
            self.again = True
            if tracer is not None:
                tracer.call_failed(self.id, call.key, call.dep, self.decisions, call.reason)
            return
        history.scheduled(call.key, call.position)
        if tracer is not None:
            tracer.scheduled(self.id, call.key, call.dep, spec.kind, call.depends_on,
                             self.decisions)
        if spec.kind is WORKFLOW:
            _Run(self.engine, spec.target, call.input, parent=self, key=call.key).decide()
            return
        engine = self.engine
        if engine.feeder is not None:
            engine.in_flight += 1
            engine.feeder.submit(self, call.key, spec.target, spec.transport, call.input)
        else:
            engine.start_activity(self, spec, call.key, call.input)

    def activity_done(self, key, data, exc):
        """An activity of this run ended, with ``data`` or with ``exc`` (from a feeder)."""
        self.engine.activity_ended()
        self.arrived(key, data, exc)

    def _activity_done(self, key, future):
        try:
            self._record_activity(key, future)
        finally:
            self.engine.activity_ended(future)

    def _record_activity(self, key, future):
        try:
            data = future.result()
        except BaseException as exc:  # CancelledError is a BaseException
            self.engine.activity_failed(exc)
            self.arrived(key, None, exc)
        else:
            self.arrived(key, data, None)

    def arrived(self, key, data, exc, reason=None):
        """Record that call ``key`` finished with ``data`` or failed with ``exc``."""
        if self.done:
            return
        if self.deciding:
            self.inbox.append(partial(self._record, key, data, exc, reason))
            return
        if exc is None and self.engine.tracer is None:
            self.history.completed(key, data)
        else:
            self._record(key, data, exc, reason)
        self.engine.waiting[self] = None

    def _record(self, key, data, exc, reason):
        tracer = self.engine.tracer
        if exc is None:
            self.history.completed(key, data)
            if tracer is not None:
                tracer.completed(self.id, key, data)
        else:
            reason = reason or _failure_reason(exc)
            self.history.failed(key, reason, exc)
            if tracer is not None:
                tracer.failed(self.id, key, reason)

    def _conclude(self, outcome):
        self.done = True
        engine = self.engine
        engine.forget(self.history)
        if engine.tracer is not None:
            engine.tracer.workflow_finished(self.id, outcome)
        if type(outcome) is Restart:
            successor = _Run(engine, self.config, outcome.input, self.parent, self.key)
            if engine.tracer is not None:
                engine.tracer.restarted(self.id, successor.id)
            successor.decide()
        elif self.parent is None:
            engine.outcome = outcome
        elif type(outcome) is Finish:
            self.parent.arrived(self.key, outcome.result, None)
        else:
            error = TaskError(outcome.reason, self.key)
            error.__cause__ = outcome.error
            self.parent.arrived(self.key, None, error, outcome.reason)
