"""LocalWorkflow: how a workflow runs on this machine, and the pools it keeps between runs."""

import copy
import logging
import os
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from ..config import ACTIVITY, WORKFLOW, TaskSpec, WorkflowConfig, check_transport
from ..errors import TaskError, exception_text
from ..progress import watching
from .engine import Engine
from .handle import new_run_name, start_run
from .pools import PoolKeeper, is_executor_instance
from .sigterm import stopping_on_sigterm
from .store import RecordedError, StoreError, open_store
from .store_records import FAILED, FINISHED, RESTARTED

__all__ = ['LocalWorkflow']

logger = logging.getLogger('flowy')

_DRIVERS = ('cached', 'replay')


class LocalWorkflow(WorkflowConfig):
    """Run a workflow on this machine.

    Parameters:

    * ``factory``: builds the workflow body from its tasks, passed by keyword (usually
      the workflow class: ``__init__`` takes the tasks, ``__call__`` is the body);
    * ``activity_workers``: how many activities run at once (the pool's size);
    * ``workflow_workers``: how many decider threads replay bodies (``driver='replay'``);
    * ``executor``: the activity pool: ``ProcessPoolExecutor`` (the default),
      ``ThreadPoolExecutor``, another Executor class (or callable taking
      ``max_workers``), or an executor object;
    * ``transport``: encodes the workflow's input and result (tagged JSON by default;
      an object with ``dumps(value) -> str`` and ``loads(text) -> value``);
    * ``driver``: ``'cached'`` or ``'replay'`` (see below);
    * ``store``: None, a path or a run store (see below); ``durability``: ``'normal'``
      or ``'fsync'``.

    Tasks are added with :meth:`conf_activity` and :meth:`conf_workflow`; a name the
    factory does not take is refused there.  :meth:`run` runs the workflow (and
    :meth:`start` on a thread of its own), after checking the arguments against the
    body.

    ``factory`` builds the workflow from its tasks (usually the workflow class).
    Activities run on ``executor(max_workers=activity_workers)``, a process pool by
    default (then activities must be picklable: defined at module level).  ``executor``
    may also be an executor object, such as ``distributed.Client(...).get_executor()``
    to run activities on a Dask cluster: flowy then uses it as it is, with however many
    workers it has, and never shuts it down.  Workflow
    bodies run in this process: with ``driver='cached'`` (the default) each stays alive
    in a thread of its own; with ``driver='replay'`` they are replayed on
    ``workflow_workers`` decider threads.  The pools are started by the first run and
    kept for later ones (see :meth:`close`).  A child workflow (``conf_workflow``) runs
    on the pools of the run that started it.

    :func:`flowy.heartbeat` in an activity returns True once the activity has timed out
    or the run that called it has ended (finished, failed, restarted or interrupted, or
    its parent or the whole ``run()`` has), so that a long activity whose result nobody
    will read can stop early (on worker processes the answer may come a tenth of a
    second late).  Its details are checked as SWF checks them (``ValueError`` or
    ``TypeError`` for details SWF would refuse).  With ``ProcessPoolExecutor`` the
    workers are flowy's own processes: a worker that times out is killed and replaced
    without disturbing the others, and a worker that dies fails only its own call, as a
    timeout.

    ``store`` makes runs durable: a path (an SQLite file, created if missing) or a
    :class:`~flowy.local.store.SQLiteStore`.  Each decision is then committed to it
    before its calls start, and ``run(..., _id=...)`` resumes a run that did not end.
    ``durability`` is ``'normal'`` (survives a killed process) or ``'fsync'`` (survives
    a power loss too, at a higher cost per decision); it applies when ``store`` is a
    path.  Without a store (the default) runs live in memory.  :meth:`repair` reruns a
    failed stored run, reusing the calls that completed.
    """

    def __init__(self, factory, activity_workers=8, workflow_workers=2,
                 executor=ProcessPoolExecutor, transport=None, driver='cached', store=None,
                 durability='normal'):
        super().__init__(factory, transport)
        self._store = open_store(store, durability)
        # A store opened here from a path is closed by close() and opened again on use.
        self._store_path = (store, durability) if self._store is not store else None
        if driver not in _DRIVERS:
            raise ValueError("driver must be 'cached' (keep each body alive between "
                             "decisions) or 'replay' (run it from the top each time); got %r"
                             % (driver,))
        self.driver = driver
        for name, value in (('activity_workers', activity_workers),
                            ('workflow_workers', workflow_workers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError('%s must be an integer greater than 0 (a count of workers, '
                                 'not a bool); got %r' % (name, value))
        if not callable(executor) and not is_executor_instance(executor):
            raise TypeError('executor must be an Executor class (or a callable taking '
                            'max_workers), such as ThreadPoolExecutor, or an executor '
                            'object such as a Dask client\'s get_executor(); got %r'
                            % (executor,))
        self.activity_workers = activity_workers
        self.workflow_workers = workflow_workers
        self.executor = executor
        self._pools = PoolKeeper(self)

    @property
    def _uses_processes(self):
        return isinstance(self.executor, type) and issubclass(self.executor, ProcessPoolExecutor)

    def conf_activity(self, dep, func, transport=None, retry=(0,), retry_failures=False,
                      timeout=None, heartbeat=None):
        """Give the workflow's ``dep`` argument a task that runs ``func`` as an activity.

        ``func`` is called with the arguments of each call, after a round trip through
        ``transport`` (tagged JSON by default), and its return value travels back the
        same way.

        ``retry`` holds one delay in seconds per attempt: ``(0, 5, 60)`` allows three
        attempts, the second five seconds after the first timed out, the third a minute
        after the second did.  Only timeouts are retried unless ``retry_failures`` is
        true.  ``timeout`` is how many seconds an attempt may run (from the moment a
        worker starts it); ``heartbeat`` the most seconds allowed between two
        :func:`flowy.heartbeat` calls of a running attempt (counted from its start for
        the first one).  Both need ``executor=ThreadPoolExecutor`` or
        ``executor=ProcessPoolExecutor``; a timed-out attempt on a worker process is
        stopped with its process.
        """
        if not callable(func):
            hint = ''
            if callable(getattr(func, '__wrapped__', None)) or hasattr(func, '__factory__'):
                hint = ' (it looks like a task result: pass the function, not a call of it)'
            raise TypeError('the activity for %r must be callable; got %r%s' % (dep, func, hint))
        spec = TaskSpec(dep, ACTIVITY, func, transport, retry, retry_failures, timeout,
                        heartbeat)
        if self._uses_processes:
            _check_picklable(dep, func, spec.transport)
        self._check_timeouts(spec)
        self._add_task(spec)

    def conf_workflow(self, dep, workflow, transport=None, retry=(0,), retry_failures=False,
                      timeout=None):
        """Give ``dep`` a task that runs ``workflow`` (a LocalWorkflow) as a child workflow.

        The child's input and result travel with ``transport`` (default: the child's
        own), on both sides.  ``retry`` and ``retry_failures`` are as for
        :meth:`conf_activity`; ``timeout`` is how many seconds the child may run before
        it is ended and the call times out.
        """
        if not isinstance(workflow, LocalWorkflow):
            raise TypeError('conf_workflow(%r, ...) needs a LocalWorkflow to run as the child '
                            'workflow; got %r (for a plain function use conf_activity)'
                            % (dep, workflow))
        if transport is not None and transport is not workflow.transport:
            # The child's input and result travel with the transport given here: the
            # child runs as a copy of its configuration that uses it (tasks are shared).
            workflow = copy.copy(workflow)
            workflow.transport = check_transport(transport)
        self._add_task(TaskSpec(dep, WORKFLOW, workflow, workflow.transport, retry,
                                retry_failures, timeout))

    @property
    def _uses_threads(self):
        return isinstance(self.executor, type) and issubclass(self.executor, ThreadPoolExecutor)

    @property
    def _keeps_timeouts(self):
        """True if the activity pool can time out a call: threads, or flowy's processes."""
        return self._uses_threads or self.executor is ProcessPoolExecutor

    def _check_timeouts(self, spec, runs_on=None):
        if spec.timeout is None and spec.heartbeat is None:
            return
        if (runs_on or self)._keeps_timeouts:
            return
        raise ValueError(
            'the activity %r has a timeout, which the local engine keeps for activities '
            'on threads or on its own worker processes: run the workflow with '
            'executor=ThreadPoolExecutor or executor=ProcessPoolExecutor (not %r), or drop '
            'timeout= and heartbeat=' % (spec.dep, (runs_on or self).executor))

    def run(self, *args, _wait=False, _trace=None, _id=None, _progress=False, **kwargs):
        """Run the workflow with these arguments; return its result or raise TaskError.

        ``args`` and ``kwargs`` are the body's arguments: they are checked against the
        body's signature (when the factory is a class) and encoded with the workflow's
        transport before anything starts (``TypeError`` naming the argument).  A run
        that a task's error failed raises a TaskError with that error's text and
        attributes (``parse-2-0 failed: ValueError: ...``; ``key``, ``type_name``,
        ``reason``, ``traceback``).

        ``_wait=True`` waits, after the result is known, for activities still running
        (by default they are abandoned and queued ones cancelled).  ``_trace`` records
        the run: pass a :class:`~flowy.local.Tracer`, or a path such as ``'out/run'`` to
        write ``out/run.dot`` (and ``out/run.svg`` when Graphviz is installed).

        Ctrl-C stops the run and kills its worker processes.  So does SIGTERM while
        ``run`` is active on the main thread (unless the program handles SIGTERM
        itself), after which the process ends as SIGTERM would have ended it.

        ``_id`` (with a ``store``) names the run.  A new id starts a run under that
        name; the id of a run that finished returns its recorded result, and that of a
        run that failed raises its recorded error, without running anything; the id of
        a run that did not end (its process died, or it was interrupted) resumes it:
        its body is replayed against the recorded history, and only calls with no
        recorded outcome run again (the id of a restarted run stands for the runs it
        restarted as).  Arguments may be left out to resume; given, they
        must be those the run was started with.  Another live process resuming the same
        run raises :class:`~flowy.local.store.ClaimError`.  Without ``_id`` a store
        gives the run a new id, logged at INFO on the ``flowy`` logger.

        ``_progress=True`` draws a live progress bar of the run's task calls on the
        terminal (standard error; see :mod:`flowy.progress`), with tqdm installed
        (``pip install 'flowy[progress]'``); nothing when that is not a terminal.
        """
        outcome, input_data, run_id, loaded = self._prepare(args, kwargs, _id)
        if outcome is not None:
            return outcome()
        tracer, path = _tracer_for(_trace)
        name = run_id if run_id is not None else new_run_name(self.name)
        with stopping_on_sigterm(), watching(name, _progress, self.name):
            try:
                return Engine(self, _wait, tracer, name=name).run(input_data, run_id, loaded)
            finally:
                if path is not None:
                    tracer.write(path)

    def start(self, *args, _wait=False, _trace=None, _id=None, **kwargs):
        """Start the workflow on a thread of its own; return a :class:`RunHandle` at once.

        The handle has the run's ``id``, ``done()``, ``result(timeout=None)``,
        ``signal(name, value=None)`` and ``cancel()``; the arguments (``args``,
        ``kwargs``, ``_wait``, ``_trace``, ``_id``) are those of :meth:`run`, which is
        ``start(...).result()`` run on the calling thread.  Many
        runs may be started and live at once; they share the workflow's pools.
        """
        prepared = self._prepare(args, kwargs, _id)
        return start_run(self, prepared, _wait, _trace)

    def _prepare(self, args, kwargs, run_id):
        """(what a stored run ended with, or None; the input; the run id; its LoadedRun)."""
        self._check_tree()
        if self.store is None and run_id is not None:
            raise ValueError('_id names a run in a run store: give the workflow one '
                             '(LocalWorkflow(..., store=path)) or leave _id out')
        given = bool(args or kwargs)
        if given or self.store is None or run_id is None:
            # before anything starts; a stored run resumed without arguments is checked
            # only if it is new (see _stored_run)
            self._check_arguments(args, kwargs)
        input_data = self._encode_arguments(args, kwargs)
        loaded = None
        if self.store is not None:
            outcome, run_id, loaded = self._stored_run(run_id, input_data, given)
            if outcome is not None:
                return outcome, input_data, run_id, None
            input_data = loaded.run.input if loaded is not None else input_data
        return None, input_data, run_id, loaded

    def repair(self, run_id, _wait=False, _trace=None, _progress=False):
        """Run again a failed or interrupted stored run, reusing its completed calls.

        A new run of the same input (its id is logged at INFO, and its record names
        ``run_id`` as the run it repairs) starts with the calls that completed in
        ``run_id`` already in its history, in the order they finished; the body is run
        against it, so only the calls that failed, timed out or never ran are made.
        Returns the result, or raises TaskError, as :meth:`run` does; ``_wait``,
        ``_trace`` and ``_progress`` are as for :meth:`run`.
        """
        store = self.store
        if store is None:
            raise ValueError('repair() reruns a run recorded in a run store: give the '
                             'workflow one (LocalWorkflow(..., store=path))')
        self._check_tree()
        old = store.run(run_id)
        while old.state == RESTARTED:
            old = store.successor(old.id)
        if old.workflow != self.name:
            raise ValueError('run %s in %s is a run of %s, not of %s'
                             % (old.id, store.path, old.workflow, self.name))
        if old.state == FINISHED:
            raise ValueError('run %s in %s finished: there is nothing to repair (run(_id=%r) '
                             'returns its result)' % (old.id, store.path, run_id))
        if old.state != FAILED:
            self._let_go(old)
        done = sorted((call for call in store.calls(old.id) if call.state == 'completed'),
                      key=lambda call: call.order)
        with store.transaction() as tx:
            new_id = tx.create(self.name, old.input, repair_of=old.id)
            writer = tx.run(new_id)
            for call in done:
                writer.scheduled(call.key, call.dep, call.position, call.input,
                                 call.depends_on, call.started)
                writer.completed(call.key, call.data, call.finished)
        logger.info('started run %s of %s in %s, repairing run %s (%d completed calls '
                    'reused)', new_id, self.name, store.path, old.id, len(done))
        loaded = store.load(new_id)
        tracer, path = _tracer_for(_trace)
        with stopping_on_sigterm(), watching(new_id, _progress, self.name):
            try:
                return Engine(self, _wait, tracer).run(old.input, new_id, loaded)
            finally:
                if path is not None:
                    tracer.write(path)

    def _let_go(self, old):
        """Make sure no process drives ``old``, which did not end, before repairing it.

        A run that a live process still drives is refused (ClaimError): the repair would
        run its calls a second time, at the same time.  One whose process died is marked
        interrupted, as it would have been had its process been stopped cleanly.
        """
        store = self.store
        store.claim(old.id)
        try:
            with store.transaction() as tx:
                tx.run(old.id).interrupt('the run was interrupted; run %s repairs it'
                                         % old.id)
        finally:
            store.release(old.id)

    def _stored_run(self, run_id, input_data, given):
        """(what the run already ended with, or None; the id to run; its LoadedRun)."""
        store = self.store
        record = None if run_id is None else _recorded(store, run_id)
        if record is None:
            if not given:
                self._check_arguments((), {})  # a new run: it starts without arguments
            run_id = store.create_run(self.name, input_data, run_id)
            logger.info('started run %s of %s in %s', run_id, self.name, store.path)
            return None, run_id, None
        if record.workflow != self.name:
            raise ValueError('run %s in %s is a run of %s, not of %s'
                             % (record.id, store.path, record.workflow, self.name))
        if given and record.input != input_data:
            raise ValueError('run %s in %s was started with other arguments (%s): resume it '
                             'with the same ones, or without any'
                             % (record.id, store.path, record.input))
        while record.state == RESTARTED:  # the run it restarted as holds the rest
            record = store.successor(record.id)
        if record.state == FINISHED:
            return (lambda: self.transport.loads(record.result)), record.id, None
        if record.state == FAILED:
            # the traceback recorded with the failure: that of the task that failed the
            # run, when a task did
            error = TaskError(record.reason, traceback=record.traceback)
            error.__cause__ = RecordedError(record.traceback or record.reason)

            def fail():
                raise error
            return fail, record.id, None
        store.claim(record.id)
        try:
            loaded = store.load(record.id)
        except BaseException:
            store.release(record.id)
            raise
        logger.info('resuming run %s of %s in %s', record.id, self.name, store.path)
        return None, record.id, loaded

    def close(self):
        """Shut down the pools kept between runs (a later run starts new ones).

        ``with LocalWorkflow(...) as w:`` closes them on leaving the block; otherwise
        they live until the workflow is garbage collected or the interpreter exits.
        Pools that a run (on another thread) still uses are shut down when it ends.
        A run store opened from a path is closed too (a later run opens it again).
        """
        self._pools.close()
        if self._store_path is not None:
            self._store.close()

    @property
    def store(self):
        """The run store (see the class documentation), or None."""
        if self._store_path is not None and self._store.closed:
            self._store = open_store(*self._store_path)
        return self._store

    @store.setter
    def store(self, store):
        self._store = store
        self._store_path = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _check_tree(self):
        for config in self._tree():
            config._check_factory()
            for spec in config.specs.values():
                if spec.kind is ACTIVITY:
                    # A child's activities run on the pools of the run that started it.
                    self._check_timeouts(spec, runs_on=self)
                    if self._uses_processes:
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


def _recorded(store, run_id):
    try:
        return store.run(run_id)
    except StoreError as exc:
        if not str(exc).startswith('there is no run '):
            raise  # the store is closed or unreadable
        return None


def _check_picklable(dep, func, transport):
    for what, value in (('activity', func), ('transport', transport)):
        try:
            pickle.dumps(value)
        except Exception as exc:
            raise TypeError(
                'the %s for %r (%r) cannot be sent to a worker process: %s. Define it at '
                'module level, or run on threads: LocalWorkflow(..., '
                'executor=ThreadPoolExecutor)' % (what, dep, value, exception_text(exc))
            ) from exc


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
