"""Run one workflow configuration on every engine and compare outcomes.

An *engine* here is a small adapter with the same three methods for each way flowy
runs a workflow:

* ``sequential``: plain Python, no flowy engine at all.  The factory gets the real
  activity functions (and, for child workflows, plain callables built the same way
  from the child's configuration); the body is called directly.
* ``replay``: the replay driver on a synthetic history (``tests/engines.py``), once for
  every completion order in :data:`ORDERS`; every order must give the same outcome.
* ``threads`` / ``processes``: ``LocalWorkflow.run()`` on a thread or process pool.
* ``swf`` / ``swf_replay``: flowy's SWF engine end to end on in-process moto
  (``sem_swf.py``), with the cached or the replay driver in the decider: the
  LocalWorkflow's factories, activities, children and transports become SWF types run
  by a decider thread and activity worker threads.

``engine.workflow(Factory, dep=activity, other=Flow(Child, ...))`` builds the
LocalWorkflow; ``engine.check(w, args, kwargs, expect=...)`` runs it and compares the
result (types included) or, for ``expect=Error('message')``, the failure.
"""

import math
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from engines import SimulatedEngine

from flowy import LocalWorkflow, TaskError
from flowy.config import WORKFLOW
from flowy.decision import Restart
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.operations import RestartRequest

__all__ = ['SAME', 'SELF', 'Error', 'Act', 'Flow', 'Outcome', 'ENGINE_CLASSES',
           'make_engine', 'assert_same', 'LifoEngine', 'ORDERS']

SAME = object()  # an engine-specific expectation that is the same as the general one


class _Self:
    def __repr__(self):
        return 'SELF'


SELF = _Self()  # Flow(..., sub=SELF): the workflow is its own child


class Error:
    """An expected failure: the run raises TaskError (any exception in plain Python).

    ``Error('text')`` expects exactly that message; ``prefix``, ``suffix`` and
    ``contains`` check parts of it, for messages that hold reprs or addresses.
    """

    def __init__(self, message=None, prefix=None, suffix=None, contains=()):
        self.message = message
        self.prefix = prefix
        self.suffix = suffix
        self.contains = tuple(contains)

    def matches(self, text):
        return ((self.message is None or text == self.message)
                and (self.prefix is None or text.startswith(self.prefix))
                and (self.suffix is None or text.endswith(self.suffix))
                and all(part in text for part in self.contains))

    def __repr__(self):
        parts = ['%s=%r' % (name, getattr(self, name))
                 for name in ('message', 'prefix', 'suffix', 'contains')
                 if getattr(self, name)]
        return 'Error(%s)' % ', '.join(parts)


class Act:
    """An activity with a per-task transport."""

    def __init__(self, func, transport=None):
        self.func = func
        self.transport = transport


class Flow:
    """A child workflow: its factory, dependencies and (parent-side) transport."""

    def __init__(self, factory, transport=None, workflow_transport=None, **deps):
        self.factory = factory
        self.transport = transport
        self.workflow_transport = workflow_transport
        self.deps = deps


class Outcome:
    """What one run produced: a value, or an error (its message and exception)."""

    def __init__(self, value=None, error=None):
        self.value = value
        self.error = error

    @property
    def failed(self):
        return self.error is not None

    def key(self):
        if self.failed:
            return ('error', type(self.error).__name__, str(self.error))
        return ('value', _typed(self.value))

    def __repr__(self):
        if self.failed:
            return '<failed %s: %s>' % (type(self.error).__name__, self.error)
        return '<value %r>' % (self.value,)


def _typed(value):
    """A comparable form of ``value`` that keeps the exact type of everything inside."""
    kind = type(value)
    if kind in (list, tuple):
        return (kind.__name__, tuple(_typed(item) for item in value))
    if kind in (set, frozenset):
        return (kind.__name__, tuple(sorted(repr(_typed(item)) for item in value)))
    if kind is dict:
        return ('dict', tuple((_typed(k), _typed(v)) for k, v in value.items()))
    if kind is float and math.isnan(value):
        return ('float', 'nan')
    return (kind.__name__, value)


def assert_same(actual, expected, path='result'):
    """``actual == expected`` with identical types all the way down (1 is not 1.0 or
    True, a tuple is not a list)."""
    assert type(actual) is type(expected), '%s: %s %r != %s %r' % (
        path, type(actual).__name__, actual, type(expected).__name__, expected)
    if type(expected) in (list, tuple):
        assert len(actual) == len(expected), '%s: %r != %r' % (path, actual, expected)
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, '%s[%d]' % (path, index))
    elif type(expected) is dict:
        assert list(actual) == list(expected), '%s keys: %r != %r' % (
            path, list(actual), list(expected))
        for key in expected:
            assert_same(actual[key], expected[key], '%s[%r]' % (path, key))
    elif type(expected) in (set, frozenset):
        assert _typed(actual) == _typed(expected), '%s: %r != %r' % (path, actual, expected)
    else:
        assert actual == expected, '%s: %r != %r' % (path, actual, expected)


MAX_RESTARTS = 1000  # a runaway restart loop fails the test instead of hanging it


class BoundedEngine(SimulatedEngine):
    """The simulated engine, failing a workflow that restarts without end."""

    def run_encoded(self, config, input_data):
        for _ in range(MAX_RESTARTS):
            outcome = self._run_once(config, input_data)
            if type(outcome) is not Restart:
                return outcome
            input_data = outcome.input
        raise AssertionError('%s restarted %d times' % (config.name, MAX_RESTARTS))


class LifoEngine(BoundedEngine):
    """The simulated engine, completing the most recently scheduled call first.

    It stands in for "later calls are faster": the order the thread, process and SWF
    cases produce with gates, where an earlier call is held until a later one finished.
    """

    def _pick(self, running):
        return [running.pop()]


#: The completion orders the replay engine tries: FIFO, LIFO and three random seeds.
ORDERS = (None, 'lifo', 1, 2, 3)


class _Engine:
    name = None
    executor = ThreadPoolExecutor
    flowy = True  # False for plain Python
    concurrent = False  # True where calls run side by side, in an order nobody chose
    alias = None  # an engine whose per-engine expectations apply to this one too
    driver = None  # LocalWorkflow's default

    def workflow(self, factory, transport=None, activity_workers=8, **deps):
        """A LocalWorkflow of ``factory`` with ``deps`` configured for this engine.

        A dependency is an activity function, ``Act(func, transport)``, or a child
        workflow ``Flow(factory, **deps)`` (whose ``SELF`` deps mean the child itself).
        """
        kwargs = {'transport': transport, 'activity_workers': activity_workers}
        if self.driver is not None:
            kwargs['driver'] = self.driver
        if self.executor is not None:
            kwargs['executor'] = self.executor
        config = LocalWorkflow(factory, **kwargs)
        for dep, target in deps.items():
            self._configure(config, dep, target)
        return config

    def _configure(self, config, dep, target):
        if target is SELF:
            config.conf_workflow(dep, config)
        elif isinstance(target, Flow):
            child = self.workflow(target.factory, transport=target.workflow_transport,
                                  **target.deps)
            config.conf_workflow(dep, child, transport=target.transport)
        elif isinstance(target, LocalWorkflow):
            config.conf_workflow(dep, target)
        elif isinstance(target, Act):
            config.conf_activity(dep, target.func, transport=target.transport)
        else:
            config.conf_activity(dep, target)

    def outcome(self, config, *args, **kwargs):
        """Run once; return an :class:`Outcome` (errors other than TaskError raise)."""
        try:
            return Outcome(value=self.run(config, *args, **kwargs))
        except TaskError as exc:
            return Outcome(error=exc)

    def run(self, config, *args, **kwargs):
        raise NotImplementedError

    def check(self, config, args=(), kwargs=None, *, expect, timed=False, signals=(),
              **per_engine):
        """Run ``config`` and compare with ``expect``, or with ``per_engine[self.name]``.

        ``timed=True`` marks a case whose result depends on which of several independent
        calls finishes first (set up with gates, see ``sem_activities``: earlier calls are
        held until later ones finish); the replay engine then completes calls last-in
        first-out only, which is that order.  ``signals`` (``(name, value)`` pairs) are
        sent to the run, in that order, as soon as it has started (plain Python has
        nothing to send them to).
        """
        unknown = set(per_engine) - set(ENGINE_CLASSES)
        assert not unknown, 'unknown engines %s' % unknown
        expected = per_engine.get(self.name, per_engine.get(self.alias, SAME))
        if expected is SAME:
            expected = expect
        self.signals = tuple(signals)
        try:
            outcome = self.outcome_for(config, args, kwargs or {}, timed)
        finally:
            self.signals = ()
        compare(outcome, expected)
        return outcome

    signals = ()  # what check() sends to the run it makes

    def outcome_for(self, config, args, kwargs, timed):
        return self.outcome(config, *args, **kwargs)

    def close(self):
        """Release what the engine started (the ``engine`` fixture calls it)."""

    def __repr__(self):
        return '<engine %s>' % self.name


def compare(outcome, expected):
    if isinstance(expected, Error):
        assert outcome.failed, 'expected failure %r, got %r' % (expected, outcome)
        assert expected.matches(str(outcome.error)), (
            'expected failure %r, got %r' % (expected, outcome))
    else:
        assert not outcome.failed, 'expected %r, got %r' % (expected, outcome)
        assert_same(outcome.value, expected)


class SequentialEngine(_Engine):
    """Plain Python: the factory gets real functions; no flowy engine is involved.

    ``restart(...)`` returns a RestartRequest in plain Python; this runner follows it
    by building a fresh body and calling it with the new arguments, which is what a
    user would write around a plain run.
    """

    name = 'sequential'
    flowy = False

    def run(self, config, *args, **kwargs):
        return plain_callable(config)(*args, **kwargs)

    def outcome(self, config, *args, **kwargs):
        try:
            return Outcome(value=self.run(config, *args, **kwargs))
        except Exception as exc:  # activities raise their own exceptions here
            return Outcome(error=exc)


def plain_callable(config):
    """A plain function running ``config``'s workflow as ordinary Python."""

    def run(*args, **kwargs):
        for _ in range(MAX_RESTARTS):
            body = plain_body(config)
            value = body(*args, **kwargs)
            if type(value) is not RestartRequest:
                return value
            args, kwargs = value.args, value.kwargs
        raise AssertionError('%s restarted %d times' % (config.name, MAX_RESTARTS))

    run.__name__ = 'plain_%s' % config.name
    return run


def plain_body(config):
    deps = {}
    for dep, spec in config.specs.items():
        if spec.kind is WORKFLOW:
            deps[dep] = plain_callable(spec.target)  # built lazily: children may recurse
        else:
            deps[dep] = spec.target
    return config.factory(**deps)


class ReplayEngine(_Engine):
    """The replay driver against synthetic histories, for every order in ORDERS."""

    name = 'replay'

    def __init__(self):
        self.simulations = []

    def simulate(self, config, order):
        if order == 'lifo':
            return LifoEngine(config, signals=self.signals)
        return BoundedEngine(config, seed=order, signals=self.signals)

    def run_order(self, config, order, args, kwargs):
        simulation = self.simulate(config, order)
        self.simulations.append((order, simulation))
        try:
            return Outcome(value=simulation.run(*args, **kwargs))
        except TaskError as exc:
            return Outcome(error=exc)

    def outcome_for(self, config, args, kwargs, timed):
        orders = ('lifo',) if timed else ORDERS
        outcomes = [(order, self.run_order(config, order, args, kwargs)) for order in orders]
        reference = outcomes[0][1]
        for order, outcome in outcomes[1:]:
            assert outcome.key() == reference.key(), (
                'the outcome depends on the completion order: %r with order %r, %r with '
                'order %r' % (reference, orders[0], outcome, order))
        return reference

    def outcome(self, config, *args, **kwargs):
        return self.outcome_for(config, args, kwargs, False)

    def run(self, config, *args, **kwargs):
        outcome = self.outcome(config, *args, **kwargs)
        if outcome.failed:
            raise outcome.error
        return outcome.value


class CachedEngine(ReplayEngine):
    """The cached driver on the same synthetic histories and orders as ``replay``.

    Every run is also replayed with the replay driver: each decision must be the same.
    """

    name = 'cached'
    alias = 'replay'

    def simulate(self, config, order, driver=None):
        driver = CachedDriver() if driver is None else driver
        if order == 'lifo':
            return LifoEngine(config, driver=driver, signals=self.signals)
        return BoundedEngine(config, seed=order, driver=driver, signals=self.signals)

    def run_order(self, config, order, args, kwargs):
        outcome = super().run_order(config, order, args, kwargs)
        cached = self.simulations[-1][1]
        reference = self.simulate(config, order, driver=replay)
        try:
            reference.run(*args, **kwargs)
        except TaskError:
            pass
        assert cached.decisions == reference.decisions, (
            'the cached driver decided differently from replay with order %r' % (order,))
        return outcome


RESULT_TIMEOUT = 120  # seconds a local run may take before the test fails


class ThreadsEngine(_Engine):
    name = 'threads'
    executor = ThreadPoolExecutor
    concurrent = True

    def run(self, config, *args, **kwargs):
        if not self.signals:
            return config.run(*args, **kwargs)
        handle = config.start(*args, **kwargs)
        for name, value in self.signals:
            handle.signal(name, value)
        return handle.result(timeout=RESULT_TIMEOUT)


class ThreadsReplayEngine(ThreadsEngine):
    """Threads with the replay driver, which stays available as an option."""

    name = 'threads_replay'
    alias = 'threads'
    driver = 'replay'


class ProcessesEngine(ThreadsEngine):
    name = 'processes'
    executor = None  # LocalWorkflow's default: a process pool

    def run(self, config, *args, **kwargs):
        assert config._uses_processes and config.executor is ProcessPoolExecutor
        return super().run(config, *args, **kwargs)


class SWFEngine(_Engine):
    """flowy's SWF engine (decider, activity workers, starter) on in-process moto.

    ``runtime``: the :class:`sem_swf.SWFRuntime` to run on, shared by the engines of a
    test module (the ``engine`` fixture): :meth:`close` stops its worker threads, and
    the next engine starts them again on the same moto backend, domain and types.
    Without one, the engine starts a runtime of its own on the first run, and
    :meth:`close` closes it.
    """

    name = 'swf'
    executor = ThreadPoolExecutor  # the LocalWorkflow only describes the workflow here
    concurrent = True
    swf_driver = 'cached'  # the decider's (SWFWorkflowWorker's default)

    def __init__(self, runtime=None):
        self.runtime = runtime
        self.owns_runtime = runtime is None

    def run(self, config, *args, **kwargs):
        if self.runtime is None:
            from sem_swf import SWFRuntime

            self.runtime = SWFRuntime()
        if self.signals:
            return self.runtime.run(config, args, kwargs, driver=self.swf_driver,
                                    signals=self.signals)
        return self.runtime.run(config, args, kwargs, driver=self.swf_driver)

    def close(self):
        """Stop the workers of a shared runtime; close a runtime of the engine's own."""
        runtime = self.runtime
        if runtime is None:
            return
        if self.owns_runtime:
            self.runtime = None
            runtime.close()
        else:
            runtime.stop_workers()


class SWFReplayEngine(SWFEngine):
    """SWF with the replay driver in the decider, which stays available as an option."""

    name = 'swf_replay'
    alias = 'swf'
    swf_driver = 'replay'


ENGINE_CLASSES = {cls.name: cls for cls in
                  (SequentialEngine, ReplayEngine, CachedEngine, ThreadsEngine,
                   ThreadsReplayEngine, ProcessesEngine, SWFEngine, SWFReplayEngine)}


def make_engine(name, **options):
    return ENGINE_CLASSES[name](**options)
