"""Call keys ``<dep>-<call number>-<attempt>``, timeouts, and determinism checks."""

import itertools

import pytest
import sem_activities as acts
from engines import SimulatedEngine
from sem_harness import ORDERS, Error, make_engine

from flowy import TaskError, TaskTimedout, parallel_reduce, wait
from flowy.config import ACTIVITY, TaskSpec
from flowy.decision import Fail, Finish
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.history import History


class Keys:
    def __init__(self, square, inc, add):
        self.square = square
        self.inc = inc
        self.add = add

    def __call__(self):
        a = self.square(1)                       # square-0-0, position 0
        b = self.square(2)                       # square-1-0, position 1
        c = self.inc(a)                          # inc-0-0, position 2: waits for a
        d = self.inc(5)                          # inc-1-0, position 3
        r = parallel_reduce(self.add, [self.square(3), self.square(4), 7])
        #                                          square-2-0, square-3-0 (4, 5);
        #                                          add-0-0 and add-1-0 reserved (6, 7)
        e = self.square(5)                       # square-4-0, position 8
        f = self.add(b, d)                       # add-2-0, position 9: waits for b, d
        return [a, b, c, d, r, e, f]


def keys_engine():
    engine = make_engine('replay')
    return engine, engine.workflow(Keys, square=acts.square, inc=acts.inc, add=acts.add)


@pytest.mark.engine_only('replay')
def test_call_keys_in_the_first_decision():
    engine, w = keys_engine()
    simulation = SimulatedEngine(w)
    assert simulation.run() == [1, 4, 2, 6, 32, 25, 10]
    first = simulation.decisions[0]
    assert [c.key for c in first.calls] == [
        'square-0-0', 'square-1-0', 'inc-1-0', 'square-2-0', 'square-3-0', 'square-4-0']
    assert [c.position for c in first.calls] == [0, 1, 3, 4, 5, 8]
    assert [(c.dep, c.call_number, c.attempt) for c in first.calls] == [
        ('square', 0, 0), ('square', 1, 0), ('inc', 1, 0), ('square', 2, 0),
        ('square', 3, 0), ('square', 4, 0)]
    assert engine.simulations == []  # (the engine adapter itself was not used)


@pytest.mark.engine_only('replay')
def test_call_keys_do_not_depend_on_the_completion_order():
    engine, w = keys_engine()
    assert engine.run(w) == [1, 4, 2, 6, 32, 25, 10]
    expected = {'square-%d-0' % i for i in range(5)} | {'inc-0-0', 'inc-1-0'} | {
        'add-0-0', 'add-1-0', 'add-2-0'}
    positions = {'square-0-0': 0, 'square-1-0': 1, 'inc-0-0': 2, 'inc-1-0': 3,
                 'square-2-0': 4, 'square-3-0': 5, 'square-4-0': 8, 'add-2-0': 9}
    for order, simulation in engine.simulations:
        calls = [c for d in simulation.decisions for c in d.calls]
        assert sorted(c.key for c in calls) == sorted(expected), order
        for call in calls:
            if call.key in positions:
                assert call.position == positions[call.key], (order, call)
            else:
                assert call.position in (6, 7), (order, call)  # the reserved pair
        keys = [call.key for call in calls]
        assert keys.index('inc-0-0') > keys.index('square-0-0')
        assert keys.index('add-2-0') > max(keys.index('square-1-0'), keys.index('inc-1-0'))


class Timeouts:
    def __init__(self, square):
        self.square = square

    def __call__(self):
        try:
            return self.square(3) + 1
        except TaskTimedout as exc:
            return 'timed out (%s, a TaskError: %s): %s' % (
                exc.key, isinstance(exc, TaskError), exc)


def timeout_config():
    w = make_engine('replay').workflow(Timeouts)
    w._add_task(TaskSpec('square', ACTIVITY, acts.square, retry=(0, 3, 5)))
    return w


@pytest.mark.engine_only('replay')
def test_retries_after_timeouts_use_the_attempt_number_in_the_key():
    w = timeout_config()
    data = w._encode_input((), {})
    history = History()
    [call] = replay(w, data, history).calls
    assert (call.key, call.attempt, call.delay) == ('square-0-0', 0, 0)
    history.scheduled('square-0-0', 0)
    history.timed_out('square-0-0')
    [call] = replay(w, data, history).calls
    assert (call.key, call.attempt, call.delay, call.position) == ('square-0-1', 1, 3, 0)
    history.scheduled('square-0-1', 0)
    history.timed_out('square-0-1', 'no heartbeat')
    [call] = replay(w, data, history).calls
    assert (call.key, call.attempt, call.delay) == ('square-0-2', 2, 5)
    history.scheduled('square-0-2', 0)
    # the third attempt succeeds
    finished = History()
    for key in ('square-0-0', 'square-0-1', 'square-0-2'):
        finished.scheduled(key, 0)
    finished.timed_out('square-0-0')
    finished.timed_out('square-0-1')
    finished.completed('square-0-2', '9')
    assert replay(w, data, finished).outcome == Finish(w.transport.dumps(10))
    # every attempt timed out: TaskTimedout, a TaskError
    history.timed_out('square-0-2', 'too slow')
    decision = replay(w, data, history)
    assert type(decision.outcome) is Finish
    text = w.transport.loads(decision.outcome.result)
    assert text.startswith('timed out (square-0-2, a TaskError: True): square-0 timed out')
    assert text.endswith('too slow')


class Nondeterministic:
    """Calls a different task once its first activation is over."""

    def __init__(self, square, inc):
        self.square = square
        self.inc = inc
        self.activations = None  # set per test

    def __call__(self, n):
        activation = next(self.activations)
        task = self.square if activation == 0 else self.inc
        return task(n) + 0


def nondeterministic_factory(first='square', second='inc'):
    """A factory of Nondeterministic bodies, whose tasks are the dependencies named here."""
    counter = itertools.count()

    def factory(**tasks):
        body = Nondeterministic(tasks[first], tasks[second])
        body.activations = counter
        return body

    return factory


DETERMINISM_END = 'do not branch on clocks, random numbers or outside state'
# With these names the reason is longer than the 256 characters of an SWF reason.
LONG_NAMES = ('square_with_a_rather_long_dependency_name', 'inc_with_a_rather_long_dependency_name')


@pytest.mark.parametrize('names', [('square', 'inc'), LONG_NAMES], ids=['short', 'long'])
def test_a_nondeterministic_body_fails_with_a_clear_error(engine, names):
    square, inc = names
    tasks = {square: acts.square, inc: acts.inc}
    if engine.name == 'replay':
        # one counter per completion order: each run starts from its first activation
        for order in ORDERS:
            w = engine.workflow(nondeterministic_factory(square, inc), **tasks)
            outcome = engine.run_order(w, order, (3,), {})
            assert outcome.failed and _nondeterminism(str(outcome.error), square, inc), (
                order, outcome)
        return
    w = engine.workflow(nondeterministic_factory(square, inc), **tasks)
    if engine.name == 'cached':
        # A live body is activated once per run, so there is nothing to disagree with;
        # a rebuilt instance does detect it (tests/test_drivers.py).
        assert SimulatedEngine(w, driver=CachedDriver()).run(3) == 9
        return
    # Plain Python and the cached driver (the local engine's default, and SWF's)
    # activate the body once: it just squares.  Replaying it shows the disagreement;
    # SWF's decider names the workflow type and version in its reason.
    engine.check(w, (3,), expect=9,
                 threads_replay=Error(prefix='non-deterministic workflow: ',
                                      suffix=DETERMINISM_END,
                                      contains=[inc + '-0', square + '-0']),
                 swf_replay=Error(prefix='non-deterministic workflow ',
                                  suffix=DETERMINISM_END,
                                  contains=['.factory 1: ', inc + '-0', square + '-0']))


def _nondeterminism(text, square='square', inc='inc'):
    return (text.startswith('non-deterministic workflow: ') and inc + '-0' in text
            and square + '-0' in text and text.endswith(DETERMINISM_END))


class DropsACall:
    def __init__(self, square):
        self.square = square
        self.activations = None

    def __call__(self):
        if next(self.activations) == 0:
            wait(self.square(2))
        return 'done'


@pytest.mark.engine_only('replay')
def test_a_body_that_stops_making_a_recorded_call_fails():
    counter = itertools.count()

    def factory(square):
        body = DropsACall(square)
        body.activations = counter
        return body

    engine = make_engine('replay')
    w = engine.workflow(factory, square=acts.square)
    simulation = SimulatedEngine(w)
    with pytest.raises(TaskError, match='^non-deterministic workflow: .*square-0'):
        simulation.run()
    assert type(simulation.decisions[-1].outcome) is Fail
