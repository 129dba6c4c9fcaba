"""The replay and cached drivers make the same decisions for every history.

Hypothesis writes random workflow programs (fan-out, chains, branches on values, nested
containers, first, finish_order, parallel_reduce with task and plain reducers, errors
caught and uncaught, restarts, child workflows, retries, timers and races with them,
signals sent before and after the body waits, markers, now(), and cancelling calls,
timers and calls still waiting for their arguments) and runs each under both drivers
with the same random completion order, batching and signals; every decision must be
identical.
"""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from engines import SimulatedEngine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowy
from flowy.decision import Fail, Finish
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.history import History
from flowy.local import Tracer


def number(x):
    """A list counts as its sum; None (a timer's value, a marker) as 0."""
    if isinstance(x, list):
        return sum(number(item) for item in x)
    return 0 if x is None else x


def inc(x):
    return number(x) + 1


def add(a, b):
    return a + b


def boom(x):
    x = number(x)
    if x % 3 == 0:
        raise ValueError('boom on %d' % x)
    return 2 * x


class Program:
    """A workflow that interprets a program given as its input."""

    def __init__(self, inc, add, boom, child):
        self.tasks = {'inc': inc, 'add': add, 'boom': boom, 'child': child}

    def __call__(self, program, restarts=0, restarted=False):
        self.restarted = restarted
        values = []
        for op in program['ops']:
            values.append(self.run_op(op, values))
        if restarts:
            return flowy.restart(program, restarts - 1, True)
        return [values[i] for i in program['result']]

    def arg(self, spec, values):
        kind, body = spec
        if kind == 'const':
            return body
        if kind == 'var':
            return values[body]
        if kind == 'list':
            return [self.arg(item, values) for item in body]
        return {'k%d' % i: self.arg(item, values) for i, item in enumerate(body)}

    def run_op(self, op, values):
        kind = op[0]
        if kind == 'call':
            return self.tasks[op[1]](self.arg(op[2], values))
        if kind == 'add':
            return self.tasks['add'](values[op[1]], values[op[2]])
        if kind == 'branch':
            try:
                value = number(flowy.wait(values[op[1]]))
            except flowy.TaskCancelled:
                return -2
            except flowy.TaskError:
                return -1
            task = self.tasks['inc'] if value % 2 else self.tasks['boom']
            return task(value)
        if kind == 'first':
            return flowy.first(*[values[i] for i in op[1]])
        if kind == 'finish_order':
            ordered = list(flowy.finish_order([values[i] for i in op[1]]))
            return ordered[op[2] % len(ordered)]
        if kind == 'reduce':
            items = [values[i] for i in op[2]]
            reducer = self.tasks['add'] if op[1] == 'task' else add
            return flowy.parallel_reduce(reducer, items)
        return self.run_effect(op, values)

    def run_effect(self, op, values):
        kind = op[0]
        if kind == 'sleep':
            return flowy.sleep(op[1])
        if kind == 'race':  # a deadline: the result, or None if the timer wins
            return flowy.first(values[op[1]], flowy.sleep(op[2]))
        if kind == 'signal':
            _, name, bare, seconds = op
            if bare and not self.restarted:  # enough signals are sent to the first run
                return flowy.wait_signal(name)
            return flowy.first(flowy.wait_signal(name), flowy.sleep(seconds))
        if kind == 'now':
            return int(flowy.now().timestamp())
        if kind == 'marker':
            try:
                details = flowy.wait(values[op[1]])
            except flowy.TaskError as exc:
                details = 'failed: %s' % exc
            flowy.marker('m%d' % op[1], details)
            return details
        if kind == 'cancel':
            _, target, then = op
            flowy.cancel(values[target])
            if then == 'keep':
                return values[target]
            try:
                return flowy.wait(values[target])
            except flowy.TaskCancelled as exc:
                return 'cancelled: %s' % exc
            except flowy.TaskError:
                return -1
        raise AssertionError(op)


class Child:
    def __init__(self, inc, boom):
        self.inc, self.boom = inc, boom

    def __call__(self, x):
        return self.inc(self.boom(x))


def workflow():
    child = flowy.LocalWorkflow(Child, executor=ThreadPoolExecutor)
    child.conf_activity('inc', inc)
    child.conf_activity('boom', boom)
    w = flowy.LocalWorkflow(Program, executor=ThreadPoolExecutor)
    w.conf_activity('inc', inc)
    w.conf_activity('add', add)
    w.conf_activity('boom', boom, retry=(0, 5), retry_failures=True)
    w.conf_workflow('child', child)
    return w


@st.composite
def programs(draw):
    ops = []
    keyed = []  # ops whose value is the result of one call or timer: what cancel() takes
    reductions = set()  # ops whose value may be a parallel_reduce() result (see below)
    waits = {'a': 0, 'b': 0}  # wait_signal() calls by name
    needed = {'a': 0, 'b': 0}  # signals the first run's bare waits need to arrive

    def var():
        return draw(st.integers(0, len(ops) - 1))

    def arg(depth=0):
        choices = ['const'] + (['var'] * 3 if ops else [])
        if depth < 2:
            choices += ['list', 'dict']
        kind = draw(st.sampled_from(choices))
        if kind == 'const':
            return ['const', draw(st.integers(0, 20))]
        if kind == 'var':
            return ['var', var()]
        return [kind, [arg(depth + 1) for _ in range(draw(st.integers(0, 3)))]]

    for _ in range(draw(st.integers(1, 12))):
        kinds = ['call', 'call', 'sleep', 'signal', 'now']
        if ops:
            kinds += ['add', 'branch', 'first', 'finish_order', 'reduce', 'race', 'marker',
                      'cancel', 'cancel']
        kind = draw(st.sampled_from(kinds))
        if kind in ('call', 'add', 'branch', 'sleep'):
            keyed.append(len(ops))
        if kind == 'call':
            ops.append(['call', draw(st.sampled_from(['inc', 'boom', 'child'])), arg()])
        elif kind == 'add':
            ops.append(['add', var(), var()])
        elif kind == 'branch':
            ops.append(['branch', var()])
        elif kind in ('first', 'finish_order'):
            chosen = draw(st.lists(st.integers(0, len(ops) - 1), min_size=1, max_size=4))
            ops.append([kind, chosen] + ([draw(st.integers(0, 3))] if kind == 'finish_order'
                                         else []))
        elif kind == 'reduce':
            chosen = draw(st.lists(st.integers(0, len(ops) - 1), min_size=1, max_size=6))
            if len(chosen) > 1 or chosen[0] in reductions:
                reductions.add(len(ops))
            ops.append(['reduce', draw(st.sampled_from(['task', 'plain'])), chosen])
        elif kind == 'sleep':
            ops.append(['sleep', draw(st.integers(0, 3))])
        elif kind == 'race':
            ops.append(['race', var(), draw(st.integers(0, 3))])
        elif kind == 'signal':
            name, bare = draw(st.sampled_from(['a', 'b'])), draw(st.booleans())
            waits[name] += 1
            if bare:
                needed[name] = waits[name]
            ops.append(['signal', name, bare, draw(st.integers(0, 3))])
        elif kind == 'now':
            ops.append(['now'])
        elif kind == 'marker':
            ops.append(['marker', var()])
        else:
            # Mostly a call or a timer; sometimes a combined result or a signal wait,
            # which cancel() refuses (the run fails), or a plain value (nothing happens).
            # Never a parallel_reduce() result: whether cancel() refuses a pending one
            # depends on the driver (test_effects.py, an xfail test).
            targets = [i for i in range(len(ops)) if i not in reductions]  # op 0 at least
            if keyed and draw(st.integers(0, 4)):
                target = draw(st.sampled_from(keyed))
            else:
                target = draw(st.sampled_from(targets))
            ops.append(['cancel', target, draw(st.sampled_from(['keep', 'wait']))])
    result = draw(st.lists(st.integers(0, len(ops) - 1), max_size=3))
    signals = [(name, draw(st.integers(0, 20)))
               for name in ('a', 'b') for _ in range(needed[name] + draw(st.integers(0, 2)))]
    return {'ops': ops, 'result': result, 'signals': draw(st.permutations(signals))}


def run(driver, program, restarts, seed, limit=None):
    engine = SimulatedEngine(workflow(), seed=seed, driver=driver, limit=limit,
                             signals=program.get('signals', ()), late_cancels=True)
    try:
        outcome = ('result', engine.run(program, restarts))
    except flowy.TaskError as exc:
        outcome = ('error', str(exc))
    return outcome, engine.decisions


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2), st.one_of(st.none(), st.integers(0, 2 ** 16)),
       st.one_of(st.none(), st.integers(1, 4)))
def test_replay_and_cached_decide_alike(program, restarts, seed, limit):
    cached = CachedDriver()
    expected, replayed = run(replay, program, restarts, seed, limit)
    actual, decided = run(cached, program, restarts, seed, limit)
    assert actual == expected
    assert len(decided) == len(replayed)
    for number, (want, got) in enumerate(zip(replayed, decided, strict=True)):
        assert got == want, 'decision %d differs' % number
    assert len(cached) == 0, 'finished runs must leave the cache'


def test_an_evicted_instance_is_rebuilt_by_replay():
    program = {'ops': [['call', 'inc', ['const', i]] for i in range(6)]
               + [['reduce', 'task', [0, 1, 2, 3, 4, 5]]], 'result': [6]}
    cached = CachedDriver(capacity=1)
    expected, replayed = run(replay, program, 0, 5)
    actual, decided = run(cached, program, 0, 5)
    assert (actual, decided) == (expected, replayed)
    assert cached.rebuilds >= 1


@pytest.mark.parametrize('capacity', [0, -1, 'x'])
def test_cache_capacity_must_be_positive(capacity):
    with pytest.raises(ValueError, match='capacity'):
        CachedDriver(capacity)


class Flips:
    """Squares on its first activation, increments on any later one."""

    activations = 0

    def __init__(self, inc, add, boom, child):
        self.inc, self.boom = inc, boom

    def __call__(self, n):
        Flips.activations += 1
        task = self.boom if Flips.activations == 1 else self.inc
        return task(n)


def test_a_rebuilt_instance_still_detects_nondeterminism():
    w = workflow()
    w.factory = Flips
    Flips.activations = 0
    driver = CachedDriver()
    history = History()
    data = w._encode_input((4,), {})
    [call] = driver(w, data, history).calls
    history.scheduled(call.key, call.position)
    history.completed(call.key, '8')
    driver.forget(history)  # lost: the next decision rebuilds the body by replay
    decision = driver(w, data, history)
    assert type(decision.outcome) is Fail
    assert decision.outcome.reason.startswith('non-deterministic workflow: ')
    assert 'boom-0' in decision.outcome.reason and 'inc-0' in decision.outcome.reason


def test_a_live_instance_is_fed_only_new_outcomes():
    w = workflow()
    program = {'ops': [['call', 'inc', ['const', i]] for i in range(3)], 'result': [0, 1, 2]}
    driver = CachedDriver()
    history = History()
    data = w._encode_input((program,), {})
    calls = driver(w, data, history).calls
    assert [call.key for call in calls] == ['inc-0-0', 'inc-1-0', 'inc-2-0']
    for call in calls:
        history.scheduled(call.key, call.position)
    history.completed('inc-1-0', '2')
    assert driver(w, data, history).calls == []
    history.completed('inc-0-0', '1')
    history.completed('inc-2-0', '3')
    assert driver(w, data, history).outcome == Finish(w.transport.dumps([1, 2, 3]))
    assert driver.rebuilds == 1 and len(driver) == 0


@pytest.mark.parametrize('make_driver', [lambda: replay, CachedDriver], ids=['replay', 'cached'])
def test_a_limited_decision_carries_a_slice_and_asks_for_more(make_driver):
    w = workflow()
    program = {'ops': [['call', 'inc', ['const', i]] for i in range(5)], 'result': [0, 4]}
    driver, history = make_driver(), History()
    data = w._encode_input((program,), {})
    slices = []
    for _ in range(3):
        decision = driver(w, data, history, limit=2)
        slices.append([call.key for call in decision.calls])
        assert decision.outcome is None
        for call in decision.calls:
            history.scheduled(call.key, call.position)
    assert slices == [['inc-0-0', 'inc-1-0'], ['inc-2-0', 'inc-3-0'], ['inc-4-0']]
    assert not decision.more  # the body now waits for results, not for room
    for number in range(5):
        history.completed('inc-%d-0' % number, str(number + 1))
    assert driver(w, data, history, limit=2).outcome == Finish(w.transport.dumps([1, 5]))


def test_the_local_engine_slices_a_large_fan_out():
    with flowy.LocalWorkflow(Program, executor=ThreadPoolExecutor, activity_workers=2) as w:
        w.conf_activity('inc', inc)
        w.conf_activity('add', add)
        w.conf_activity('boom', boom)
        w.conf_workflow('child', workflow().specs['child'].target)
        program = {'ops': [['call', 'inc', ['const', i]] for i in range(500)]
                   + [['reduce', 'task', list(range(500))]], 'result': [500]}
        tracer = Tracer()
        assert w.run(program, _trace=tracer) == [sum(range(1, 501))]
        tasks = tracer.workflows[1].tasks
        assert tasks['inc-0-0'].decision == 1
        assert tasks['inc-499-0'].decision > 1  # 64 calls per decision with 2 workers


# -- one policy for both drivers: what a body may raise, misuse, encoding -----------------

DRIVERS = [pytest.param(lambda: replay, id='replay'), pytest.param(CachedDriver, id='cached')]


def both_drivers(factory, *args):
    """Run ``factory``'s workflow under both drivers; return the outcomes and decisions."""
    runs = []
    for driver in (replay, CachedDriver()):
        w = workflow()
        w.factory = factory
        runs.append(run_factory(w, driver, args))
    assert runs[0] == runs[1], 'the drivers disagree'
    return runs[0]


def run_factory(w, driver, args):
    engine = SimulatedEngine(w, seed=1, driver=driver)
    try:
        outcome = ('result', engine.run(*args))
    except flowy.TaskError as exc:
        outcome = ('error', str(exc))
    return outcome, engine.decisions


class ExitsAfterACall:
    def __init__(self, inc, add, boom, child):
        self.inc = inc

    def __call__(self, code):
        if flowy.wait(self.inc(code)) > 0:
            sys.exit(code)
        return 'not reached'


class ExitsInTheFactory:
    def __init__(self, inc, add, boom, child):
        raise SystemExit('no config')


def test_system_exit_in_a_body_fails_the_run_on_both_drivers():
    outcome, decisions = both_drivers(ExitsAfterACall, 3)
    assert outcome == ('error', 'SystemExit: 3')
    assert type(decisions[-1].outcome) is Fail


def test_system_exit_in_a_factory_fails_the_run_on_both_drivers():
    outcome, _ = both_drivers(ExitsInTheFactory, 1)
    assert outcome == ('error', 'SystemExit: no config')


class Interrupted:
    def __init__(self, inc, add, boom, child):
        self.inc = inc

    def __call__(self, x):
        flowy.wait(self.inc(x))
        raise KeyboardInterrupt


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_keyboard_interrupt_in_a_body_goes_through_the_driver(make_driver):
    w = workflow()
    w.factory = Interrupted
    driver, history = make_driver(), History()
    data = w._encode_input((1,), {})
    [call] = driver(w, data, history).calls
    history.scheduled(call.key, call.position)
    history.completed(call.key, '2')
    with pytest.raises(KeyboardInterrupt):
        driver(w, data, history)
    if isinstance(driver, CachedDriver):
        assert len(driver) == 0, 'the interrupted run must leave the cache'


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_keyboard_interrupt_in_a_body_stops_a_local_run(driver):
    with flowy.LocalWorkflow(Interrupted, executor=ThreadPoolExecutor, driver=driver) as w:
        for dep, func in (('inc', inc), ('add', add), ('boom', boom)):
            w.conf_activity(dep, func)
        w.conf_workflow('child', workflow().specs['child'].target)
        with pytest.raises(KeyboardInterrupt):
            w.run(1)


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_system_exit_in_a_body_fails_a_local_run(driver):
    with flowy.LocalWorkflow(ExitsAfterACall, executor=ThreadPoolExecutor, driver=driver) as w:
        for dep, func in (('inc', inc), ('add', add), ('boom', boom)):
            w.conf_activity(dep, func)
        w.conf_workflow('child', workflow().specs['child'].target)
        with pytest.raises(flowy.TaskError, match='^SystemExit: 4$'):
            w.run(4)


CAUGHT = []


class ReducesWithATask:
    """A plain reducer that calls a task: a usage mistake, whether or not it is caught."""

    def __init__(self, inc, add, boom, child):
        self.inc, self.add = inc, add

    def __call__(self, n, catch):
        items = [self.inc(i) for i in range(n)]

        def reducer(a, b):
            return self.add(a, b)

        try:
            total = flowy.parallel_reduce(reducer, items)
        except TypeError as exc:
            if not catch:
                raise
            CAUGHT.append(exc)
            return 'caught'
        return flowy.wait(total)


@pytest.mark.parametrize('catch', [False, True])
def test_a_task_called_by_a_plain_reducer_fails_the_run_on_both_drivers(catch):
    outcome, _ = both_drivers(ReducesWithATask, 4, catch)
    assert outcome[0] == 'error'
    assert "given to parallel_reduce() called the task 'add'" in outcome[1]


def test_a_task_called_by_a_plain_reducer_is_a_type_error_to_the_caller():
    del CAUGHT[:]
    w = workflow()
    w.factory = ReducesWithATask
    run_factory(w, replay, (3, True))
    assert CAUGHT and all(isinstance(exc, flowy.UsageError) for exc in CAUGHT)
    assert isinstance(CAUGHT[0], TypeError)


class Pending:
    """A value whose JSON form holds a result: encoding it must never wait."""

    def __init__(self, result):
        self.result = result

    def __json__(self):
        return {'value': self.result}


class ReturnsAPendingValue:
    def __init__(self, inc, add, boom, child):
        self.inc = inc

    def __call__(self, x):
        return Pending(self.inc(x))


class PassesAPendingValue:
    def __init__(self, inc, add, boom, child):
        self.inc, self.add = inc, add

    def __call__(self, x):
        try:
            return flowy.wait(self.add(Pending(self.inc(x)), 1))
        except flowy.TaskError as exc:
            return 'failed: %s' % exc


def test_a_result_that_holds_a_pending_value_fails_the_run_on_both_drivers():
    outcome, _ = both_drivers(ReturnsAPendingValue, 1)
    assert outcome == ('error', 'cannot serialize the workflow result: it holds the result '
                       'of inc-0-0, which has not finished: wait for such values (flowy.wait) '
                       'before they are encoded')


def test_an_input_that_holds_a_pending_value_fails_the_call_on_both_drivers():
    outcome, _ = both_drivers(PassesAPendingValue, 1)
    assert outcome == ('result', 'failed: add-0-0 failed: cannot serialize the input of add-0-0: '
                       'it holds the '
                       'result of inc-0-0, which has not finished: wait for such values '
                       '(flowy.wait) before they are encoded')


@pytest.mark.timeout(60)
@pytest.mark.parametrize('driver', ['cached', 'replay'])
@pytest.mark.parametrize('factory', [ReturnsAPendingValue, PassesAPendingValue])
def test_a_pending_value_being_encoded_never_hangs_a_local_run(driver, factory):
    with flowy.LocalWorkflow(factory, executor=ThreadPoolExecutor, driver=driver) as w:
        for dep, func in (('inc', inc), ('add', add), ('boom', boom)):
            w.conf_activity(dep, func)
        w.conf_workflow('child', workflow().specs['child'].target)
        try:
            outcome = w.run(1)
        except flowy.TaskError as exc:
            outcome = str(exc)
    assert 'it holds the result of inc-0-0, which has not finished' in outcome


KEPT = []


class KeepsAResult:
    """The first run keeps a pending result; the second one uses it."""

    def __init__(self, inc, add, boom, child):
        self.inc = inc

    def __call__(self, how):
        if how == 'keep':
            KEPT.append(self.inc(1))
            return 'kept'
        if how == 'wait':
            return flowy.wait(KEPT[0])
        if how == 'pass':
            return flowy.wait(self.inc(KEPT[0]))
        return flowy.wait(flowy.first(KEPT[0], self.inc(2)))


@pytest.mark.timeout(60)
@pytest.mark.parametrize('driver', ['cached', 'replay'])
@pytest.mark.parametrize('how', ['wait', 'pass', 'first'])
def test_a_result_of_another_run_is_refused_not_waited_for(driver, how):
    del KEPT[:]
    gate = threading.Event()

    def slow_inc(x):
        gate.wait(30)  # keeps the first run's result pending until the test ends
        return x + 1

    with flowy.LocalWorkflow(KeepsAResult, executor=ThreadPoolExecutor, driver=driver) as w:
        w.conf_activity('inc', slow_inc)
        for dep, func in (('add', add), ('boom', boom)):
            w.conf_activity(dep, func)
        w.conf_workflow('child', workflow().specs['child'].target)
        try:
            assert w.run('keep') == 'kept'
            with pytest.raises(flowy.TaskError, match='belongs to another workflow run'):
                w.run(how)
        finally:
            gate.set()
