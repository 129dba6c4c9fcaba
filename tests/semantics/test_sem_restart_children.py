"""restart(...) and child workflows configured with conf_workflow."""

import pytest
import sem_activities as acts
from sem_harness import SELF, Error, Flow, make_engine

from flowy import TaskError, parallel_reduce, restart
from flowy.decision import Restart

# -- restart --------------------------------------------------------------------------

class Countdown:
    """Restarts ``n`` times; each run passes a task result on to the next."""

    def __init__(self, inc):
        self.inc = inc

    def __call__(self, n, acc=0, trail=()):
        if n == 0:
            return [acc, list(trail)]
        return restart(n - 1, acc=self.inc(acc), trail=trail + (n,))


@pytest.mark.parametrize('n', [0, 1, 3])
def test_restart_with_new_input_then_finish(engine, n):
    w = engine.workflow(Countdown, inc=acts.inc)
    engine.check(w, (n,), expect=[n, list(range(n, 0, -1))])


@pytest.mark.engine_only('replay')
def test_restart_waits_for_results_in_its_arguments():
    engine = make_engine('replay')
    w = engine.workflow(Countdown, inc=acts.inc)
    assert engine.run(w, 2) == [2, [2, 1]]
    for order, simulation in engine.simulations:
        restarts = [d.outcome for d in simulation.decisions if type(d.outcome) is Restart]
        assert [w._decode_input(r.input) for r in restarts] == [
            ([1], {'acc': 1, 'trail': (2,)}), ([0], {'acc': 2, 'trail': (2, 1)})], order
        assert len(simulation.histories) == 3  # a fresh history for every run
        # each run called inc once, always as inc-0-0
        assert [h.get('inc-0-0') is not None for h in simulation.histories] == [
            True, True, False]


class RestartOnceThenReduce:
    """The original's local test: restart once, then a map-reduce over activities."""

    def __init__(self, inc, add):
        self.inc = inc
        self.add = add

    def __call__(self, n, restarted=False):
        if not restarted:
            return restart(self.inc(n), restarted=True)
        return parallel_reduce(self.add, map(self.inc, range(n)))


def test_restart_once_then_map_reduce(engine):
    w = engine.workflow(RestartOnceThenReduce, inc=acts.inc, add=acts.add)
    engine.check(w, (8,), expect=45)  # 1 + 2 + ... + 9 after restarting with n=9


class RestartFails:
    def __init__(self, fail, square):
        self.fail = fail
        self.square = square

    def __call__(self, n=0):
        if n:
            return 'restarted'
        return restart(self.square(2), extra=[{'bad': self.fail('cannot restart')}])


def test_a_failed_result_in_restart_arguments_fails_the_workflow(engine):
    w = engine.workflow(RestartFails, fail=acts.fail, square=acts.square)
    engine.check(w, expect=Error('fail-0-0 failed: ActivityFailure: cannot restart'),
                 sequential=Error('cannot restart'))


class RestartAfterFailure:
    """A failure caught in one run; the next run (after a restart) succeeds."""

    def __init__(self, fail, square):
        self.fail = fail
        self.square = square

    def __call__(self, attempt=0):
        try:
            if attempt < 2:
                return self.fail('attempt %d failed' % attempt) + 0
            return ['succeeded at attempt %d' % attempt, self.square(attempt)]
        except TaskError:
            return restart(attempt=attempt + 1)


def test_a_workflow_can_restart_after_a_caught_failure(engine):
    w = engine.workflow(RestartAfterFailure, fail=acts.fail, square=acts.square)
    engine.check(w, expect=['succeeded at attempt 2', 4])


# -- child workflows ------------------------------------------------------------------

class SumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(1, n + 1)])


class Parent:
    def __init__(self, child, inc):
        self.child = child
        self.inc = inc

    def __call__(self, *ns):
        return [self.inc(self.child(n)) for n in ns]


SUM_SQUARES = Flow(SumSquares, square=acts.square, add=acts.add)


def test_a_child_workflow_computes_a_value(engine):
    w = engine.workflow(Parent, child=SUM_SQUARES, inc=acts.inc)
    engine.check(w, (3, 6, 1), expect=[15, 92, 2])


class Grandparent:
    def __init__(self, parent, square):
        self.parent = parent
        self.square = square

    def __call__(self, n):
        return self.square(self.parent(n, n + 1)[1]) - self.parent(1)[0]


def test_child_workflows_nest_two_levels(engine):
    # parent(2, 3) = [5 + 1, 14 + 1]; parent(1) = [2]; 15 ** 2 - 2
    w = engine.workflow(Grandparent, square=acts.square,
                        parent=Flow(Parent, child=SUM_SQUARES, inc=acts.inc))
    engine.check(w, (2,), expect=223)


class FailingChild:
    def __init__(self, fail, square):
        self.fail = fail
        self.square = square

    def __call__(self, how):
        if how == 'raise':
            raise ValueError('child body broke at %d' % self.square(3))
        if how == 'activity':
            return self.fail('child activity broke')
        return self.square(4)


class CatchingParent:
    def __init__(self, child):
        self.child = child

    def __call__(self, how, catch):
        if not catch:
            return self.child(how)
        try:
            return 'child gave %d' % self.child(how)
        except TaskError as exc:  # plain Python raises at the call itself
            return 'caught: %s' % exc


CHILD = Flow(FailingChild, fail=acts.fail, square=acts.square)


@pytest.mark.parametrize('how, message, plain', [
    ('raise', 'child-0-0 failed: child body broke at 9', 'child body broke at 9'),
    ('activity', 'child-0-0 failed: fail-0-0 failed: ActivityFailure: child activity broke',
     'child activity broke')])
def test_a_failing_child_fails_the_parent(engine, how, message, plain):
    # the parent fails with the error of its call of the child, which names the child's
    w = engine.workflow(CatchingParent, child=CHILD)
    engine.check(w, (how, False), expect=Error(message), sequential=Error(plain))


def test_the_parent_can_catch_a_failing_child(engine):
    w = engine.workflow(CatchingParent, child=CHILD)
    # the child failed because its call did: the parent's error names both calls
    engine.check(w, ('activity', True),
                 expect='caught: child-0-0 failed: fail-0-0 failed: ActivityFailure: '
                        'child activity broke',
                 sequential='caught: child activity broke')


def test_the_parent_catches_a_child_that_raised(engine):
    # In plain Python the child's ValueError is no TaskError, so it is not caught.
    w = engine.workflow(CatchingParent, child=CHILD)
    engine.check(w, ('raise', True), expect='caught: child-0-0 failed: child body broke at 9',
                 sequential=Error('child body broke at 9'))


class RestartingChildParent:
    def __init__(self, countdown, add):
        self.countdown = countdown
        self.add = add

    def __call__(self):
        first, second = self.countdown(3), self.countdown(2, acc=10)
        return [first, second[0] + 100, self.add(first[0], second[0])]


def test_a_child_that_restarts(engine):
    w = engine.workflow(RestartingChildParent, add=acts.add,
                        countdown=Flow(Countdown, inc=acts.inc))
    engine.check(w, expect=[[3, [3, 2, 1]], 112, 15])


class Recursive:
    """Its own child: a binary tree of runs ``depth`` levels deep."""

    def __init__(self, sub, square):
        self.sub = sub
        self.square = square

    def __call__(self, depth, label='r'):
        if depth == 0:
            return [[label, self.square(len(label))]]
        return self.sub(depth - 1, label=label + 'a') + self.sub(depth - 1, label + 'b')


def test_a_workflow_as_its_own_child(engine):
    w = engine.workflow(Recursive, sub=SELF, square=acts.square)
    engine.check(w, (2,), expect=[['raa', 9], ['rab', 9], ['rba', 9], ['rbb', 9]])
    engine.check(w, (0,), expect=[['r', 1]])


class ChildReducer:
    """A child workflow as the reducer of parallel_reduce."""

    def __init__(self, pair, square):
        self.pair = pair
        self.square = square

    def __call__(self, n):
        return parallel_reduce(self.pair, [self.square(i) for i in range(1, n + 1)])


class AddPair:
    def __init__(self, add):
        self.add = add

    def __call__(self, x, y):
        return self.add(x, y)


def test_a_child_workflow_as_reducer(engine):
    w = engine.workflow(ChildReducer, square=acts.square, pair=Flow(AddPair, add=acts.add))
    engine.check(w, (5,), expect=55)


class ChildKwargs:
    def __init__(self, child):
        self.child = child

    def __call__(self):
        return [self.child(2, b=self.child(1)), self.child(a=5, c='x')]


class KwargsBody:
    def __init__(self, power):
        self.power = power

    def __call__(self, a, b=10, c='default'):
        return [self.power(a), b, c]


def test_a_child_workflow_with_keyword_arguments(engine):
    w = engine.workflow(ChildKwargs, child=Flow(KwargsBody, power=acts.power))
    engine.check(w, expect=[[4, [1, 10, 'default'], 'default'], [25, 10, 'x']])


@pytest.mark.engine_only('replay')
def test_child_calls_use_the_dependency_name_in_their_keys():
    engine = make_engine('replay')
    w = engine.workflow(Parent, child=SUM_SQUARES, inc=acts.inc)
    assert engine.run(w, 2, 3) == [6, 15]
    for order, simulation in engine.simulations:
        first = simulation.decisions[0]
        assert [c.key for c in first.calls] == ['child-0-0', 'child-1-0'], order
        assert w._decode_input(first.calls[1].input) == ([3], {})


class ChildEcho:
    def __init__(self, echo):
        self.echo = echo

    def __call__(self, text):
        return [text, self.echo(text)]


class TransportParent:
    def __init__(self, child):
        self.child = child

    def __call__(self, text):
        return self.child(text)


def test_a_child_workflow_with_its_own_transport(engine):
    # conf_workflow(..., transport=T): the child's input and result travel with T.
    # SHOUT upper-cases every string it decodes: the child sees 'HI', its result comes
    # back decoded once more by T on the parent's side.
    w = engine.workflow(TransportParent, child=Flow(ChildEcho, transport=acts.SHOUT,
                                                    echo=acts.echo))
    engine.check(w, ('hi',), expect=['HI', 'HI'], sequential=['hi', 'hi'])


def test_a_child_workflow_whose_config_has_the_same_transport(engine):
    # Consistent transports on both sides of the boundary work.
    w = engine.workflow(TransportParent, child=Flow(ChildEcho, transport=acts.SHOUT,
                                                    workflow_transport=acts.SHOUT,
                                                    echo=acts.echo))
    engine.check(w, ('hi',), expect=['HI', 'HI'], sequential=['hi', 'hi'])

