"""wait, first, finish_order and parallel_reduce, on task results and on plain values."""

import operator

import pytest
import sem_activities as acts
from sem_harness import Error, make_engine

from flowy import TaskError, finish_order, first, parallel_reduce, wait

N_PLAIN = 100_000


# -- wait ---------------------------------------------------------------------------

class Waits:
    def __init__(self, square):
        self.square = square

    def __call__(self):
        plain = [wait(5), wait('text'), wait(None), wait([1, 2])]
        result = wait(self.square(3))
        return plain + [result + 1, wait(result)]


def test_wait_returns_plain_values_and_forces_results(engine):
    engine.check(engine.workflow(Waits, square=acts.square),
                 expect=[5, 'text', None, [1, 2], 10, 9])


class WaitThenCall:
    """``wait`` blocks the body: nothing after it is scheduled before the result."""

    def __init__(self, square, inc):
        self.square = square
        self.inc = inc

    def __call__(self):
        a = self.square(2)
        wait(a)
        return self.inc(7) + a


def test_wait_holds_back_later_calls(engine):
    engine.check(engine.workflow(WaitThenCall, square=acts.square, inc=acts.inc), expect=12)
    if engine.name == 'replay':
        for order, simulation in engine.simulations:
            per_decision = [[c.key for c in d.calls] for d in simulation.decisions]
            assert per_decision == [['square-0-0'], ['inc-0-0'], []], order


# -- first ----------------------------------------------------------------------------

class FirstOfPlain:
    def __init__(self, make_list):
        self.make_list = make_list

    def __call__(self):
        listed = self.make_list(3)
        return [first(1, 2, 3), first([5, 6]), first((7, 8)), first('abc'), first(4),
                first(x for x in [9, 10]), first(b'xy'),
                first(listed),                   # one result: that result, not its item
                first([listed]),
                first(11, listed), first([listed, 12])]  # plain values are already done


def test_first_of_plain_values(engine):
    # Plain Python cannot tell a result from a value: first(one_list) iterates it there,
    # and the first argument wins.
    w = engine.workflow(FirstOfPlain, make_list=acts.make_list)
    engine.check(w, expect=[1, 5, 7, 'abc', 4, 9, b'xy', [0, 1, 2], [0, 1, 2], 11, 12],
                 sequential=[1, 5, 7, 'abc', 4, 9, b'xy', 0, [0, 1, 2], 11, [0, 1, 2]])


class FirstByDependency:
    """``later`` needs ``earlier``, so ``earlier`` always finishes first."""

    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        earlier = self.inc(1)
        later = self.inc(earlier)
        latest = self.inc(later)
        return [first(later, earlier), first([latest, later, earlier]),
                first((latest, later)), first(later)]


def test_first_is_the_first_to_finish(engine):
    w = engine.workflow(FirstByDependency, inc=acts.inc)
    engine.check(w, expect=[2, 2, 3, 3], sequential=[3, 4, 4, 3])


class FirstByTime:
    def __init__(self, echo, fail, release):
        self.echo = echo
        self.fail = fail
        self.release = release

    def __call__(self, gates=(None, None)):
        # Earlier calls are the slow ones: held until a later call has finished.
        slow, fast = self.echo('slow', gate=gates[0]), self.echo('fast')
        self.release(gates[0], after=fast)
        winners = [first(slow, fast), first([slow, fast]), first(iter([slow, fast]))]
        try:
            slow_too = self.echo('slow too', gate=gates[1])  # held until the test ends
            failing = self.fail('failed first')
            winners.append(first(slow_too, failing) + '?')
        except TaskError as exc:
            winners.append(str(exc))
        return winners


def test_first_of_independent_calls(engine, gates):
    w = engine.workflow(FirstByTime, echo=acts.echo, fail=acts.fail, release=acts.release)
    engine.check(w, ([gates.new(), gates.new()],),
                 expect=['fast', 'fast', 'fast', 'fail-0-0 failed: ActivityFailure: failed first'],
                 sequential=['slow', 'slow', 'slow', 'failed first'], timed=True)


class FirstOfNothing:
    def __call__(self):
        try:
            first([])
        except ValueError:
            return 'ValueError'


def test_first_of_nothing_raises_value_error(engine):
    engine.check(engine.workflow(FirstOfNothing), expect='ValueError')


# -- finish_order -------------------------------------------------------------------

class FinishOrder:
    def __init__(self, echo):
        self.echo = echo

    def __call__(self):
        a = self.echo('a')
        b = self.echo('b', after=a)
        c = self.echo('c', after=b)
        return [list(finish_order([c, a, b])), list(finish_order(b, c, a)),
                list(finish_order((c, 'p1', a, 'p2'))), list(finish_order(iter([b, a]))),
                list(finish_order([])), list(finish_order([1, 2, 3]))]


def test_finish_order_yields_everything_in_finish_order(engine):
    w = engine.workflow(FinishOrder, echo=acts.echo)
    engine.check(w, expect=[['a', 'b', 'c'], ['a', 'b', 'c'], ['p1', 'p2', 'a', 'c'],
                            ['a', 'b'], [], [1, 2, 3]],
                 sequential=[['c', 'a', 'b'], ['b', 'c', 'a'], ['c', 'p1', 'a', 'p2'],
                             ['b', 'a'], [], [1, 2, 3]])


class FinishOrderOne:
    def __init__(self, make_list):
        self.make_list = make_list

    def __call__(self):
        listed = self.make_list(3)
        return [list(finish_order(listed)), list(finish_order(5)), list(finish_order('ab'))]


def test_finish_order_of_one_result_is_that_result(engine):
    w = engine.workflow(FinishOrderOne, make_list=acts.make_list)
    engine.check(w, expect=[[[0, 1, 2]], [5], ['ab']],
                 sequential=[[0, 1, 2], [5], ['ab']])  # a plain list is iterated


class FinishOrderByTime:
    def __init__(self, echo, fail, release):
        self.echo = echo
        self.fail = fail
        self.release = release

    def __call__(self, gate=None):
        results = [self.echo('slow', gate=gate), self.echo('fast')]
        self.release(gate, after=results[1])
        seen = []
        for result in finish_order(results):
            seen.append(result)
            if len(seen) == 1:
                # The fastest is known while the others still run; use it at once.
                seen.append(self.echo(result + '!'))
        return seen


def test_finish_order_of_independent_calls(engine, gates):
    w = engine.workflow(FinishOrderByTime, echo=acts.echo, fail=acts.fail,
                        release=acts.release)
    engine.check(w, (gates.new(),), expect=['fast', 'fast!', 'slow'],
                 sequential=['slow', 'slow!', 'fast'], timed=True)


# -- parallel_reduce ------------------------------------------------------------------

class Reduce:
    """parallel_reduce over squares of 1..n with a task or a plain function."""

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n, reducer):
        squares = [self.square(i) for i in range(1, n + 1)]
        calls = []

        def plain_add(x, y):
            calls.append((x, y))
            return x + y

        if reducer == 'task':
            return [parallel_reduce(self.add, squares), n - 1]
        total = parallel_reduce(plain_add, squares)
        wait(total)  # count the calls once the reduction is over
        return [total, len(calls)]


def sum_of_squares(n):
    return sum(i * i for i in range(1, n + 1))


@pytest.mark.parametrize('reducer', ['task', 'plain'])
@pytest.mark.parametrize('n', [1, 3, 7])
def test_parallel_reduce_of_results(engine, n, reducer):
    # [total, number of reducer calls]; the plain reducer counts its own calls.
    w = engine.workflow(Reduce, square=acts.square, add=acts.add)
    engine.check(w, (n, reducer), expect=[sum_of_squares(n), n - 1])


@pytest.mark.engine_only('replay')
@pytest.mark.parametrize('n', [2, 3, 5, 7, 8])
def test_parallel_reduce_makes_exactly_len_minus_one_task_calls(n):
    engine = make_engine('replay')
    w = engine.workflow(Reduce, square=acts.square, add=acts.add)
    assert engine.run(w, n, 'task') == [sum_of_squares(n), n - 1]
    for order, simulation in engine.simulations:
        adds = [call.key for d in simulation.decisions for call in d.calls if call.dep == 'add']
        assert sorted(adds) == sorted('add-%d-0' % i for i in range(n - 1)), order


class ReduceMixed:
    """Plain values and task results together, with a task or a plain reducer."""

    def __init__(self, square, add, wrap, concat):
        self.square = square
        self.add = add
        self.wrap = wrap
        self.concat = concat

    def __call__(self, reducer):
        if reducer == 'task':
            mixed = [1, self.square(2), 3, self.square(4), 5]
            lists = [self.wrap(i) for i in range(5)] + [[100], [101]]
            return [parallel_reduce(self.add, mixed), sorted(parallel_reduce(self.concat, lists))]
        mixed = [1, self.square(2), 3, self.square(4), 5]
        lists = [self.wrap(i) for i in range(5)] + [[100], [101]]
        return [parallel_reduce(operator.add, mixed), sorted(parallel_reduce(operator.add, lists))]


@pytest.mark.parametrize('reducer', ['task', 'plain'])
def test_parallel_reduce_mixes_plain_values_and_results(engine, reducer):
    # Every element counted exactly once, whatever the order of the pairings.
    w = engine.workflow(ReduceMixed, square=acts.square, add=acts.add, wrap=acts.wrap,
                        concat=acts.concat)
    engine.check(w, (reducer,), expect=[29, [0, 1, 2, 3, 4, 100, 101]])


class ReduceEdges:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self):
        marker = ['unique']
        out = [parallel_reduce(self.add, [marker]) is marker,      # one plain element: as is
               parallel_reduce(self.add, [self.square(5)]),        # one result: that result
               parallel_reduce(self.add, iter([self.square(2)])),
               parallel_reduce(operator.add, (1, 2, 3, 4, 5))]     # plain: a plain reduce
        for empty in ([], (), iter([])):
            try:
                parallel_reduce(self.add, empty)
                out.append('no error')
            except ValueError:
                out.append('ValueError')
        return out


def test_parallel_reduce_edge_cases(engine):
    w = engine.workflow(ReduceEdges, square=acts.square, add=acts.add)
    engine.check(w, expect=[True, 25, 4, 15, 'ValueError', 'ValueError', 'ValueError'])


class ReduceManyPlain:
    def __init__(self, square):
        self.square = square

    def __call__(self, n):
        values = list(range(n))
        plain = parallel_reduce(operator.add, values)
        with_result = parallel_reduce(operator.add, values[:1000] + [self.square(3)])
        return [plain, with_result]


def test_parallel_reduce_of_many_plain_values_inside_a_workflow(engine):
    w = engine.workflow(ReduceManyPlain, square=acts.square)
    engine.check(w, (N_PLAIN,), expect=[N_PLAIN * (N_PLAIN - 1) // 2, 499500 + 9])


@pytest.mark.engine_only('sequential')
def test_parallel_reduce_of_many_plain_values_without_recursion_limits():
    assert parallel_reduce(operator.add, range(N_PLAIN)) == N_PLAIN * (N_PLAIN - 1) // 2
    pieces = parallel_reduce(operator.add, [[i] for i in range(N_PLAIN)])
    assert sorted(pieces) == list(range(N_PLAIN))
    with pytest.raises(ValueError):
        parallel_reduce(operator.add, [])
    assert parallel_reduce(operator.sub, [7]) == 7
    assert first(3, 4) == 3
    assert first([3, 4]) == 3
    assert list(finish_order([3, 1, 2])) == [3, 1, 2]
    assert wait(5) == 5


class ReduceFailures:
    def __init__(self, square, fail, add):
        self.square = square
        self.fail = fail
        self.add = add

    def __call__(self, reducer):
        try:
            items = [self.square(1), self.fail('input broke'), self.square(3)]
            function = self.add if reducer == 'task' else operator.add
            return parallel_reduce(function, items) + 1
        except TaskError as exc:
            return 'caught: %s' % exc


@pytest.mark.parametrize('reducer', ['task', 'plain'])
def test_parallel_reduce_with_a_failed_input(engine, reducer):
    w = engine.workflow(ReduceFailures, square=acts.square, fail=acts.fail, add=acts.add)
    engine.check(w, (reducer,), expect='caught: fail-0-0 failed: ActivityFailure: input broke',
                 sequential='caught: input broke')


def bad_pair(x, y):
    raise ArithmeticError('bad pair')


class PlainReducerRaises:
    def __init__(self, square):
        self.square = square

    def __call__(self):
        return parallel_reduce(bad_pair, [self.square(1), self.square(2), self.square(3)])


def test_a_plain_reducer_that_raises_fails_the_workflow(engine):
    w = engine.workflow(PlainReducerRaises, square=acts.square)
    engine.check(w, expect=Error(prefix='the reducer ', suffix='raised: bad pair'),
                 sequential=Error('bad pair'))


class ReduceErrorEarly:
    def __init__(self, echo, fail, add):
        self.echo = echo
        self.fail = fail
        self.add = add

    def __call__(self, gate=None):
        # The echoes are held until the test ends: the failure always comes first.
        return parallel_reduce(self.add, [self.echo(1, gate=gate), self.echo(2, gate=gate),
                                          self.fail('reduce input broke')])


def test_parallel_reduce_fails_with_the_failed_input(engine, gates):
    w = engine.workflow(ReduceErrorEarly, echo=acts.echo, fail=acts.fail, add=acts.add)
    engine.check(w, (gates.new(),),
                 expect=Error('fail-0-0 failed: ActivityFailure: reduce input broke'),
                 sequential=Error('reduce input broke'))


@pytest.mark.engine_only('replay')
def test_parallel_reduce_fails_without_waiting_for_unfinished_inputs():
    from sem_harness import LifoEngine

    w = make_engine('replay').workflow(ReduceErrorEarly, echo=acts.echo, fail=acts.fail,
                                       add=acts.add)
    simulation = LifoEngine(w)  # the failure arrives first; both echoes still run
    with pytest.raises(TaskError, match='^fail-0-0 failed: ActivityFailure: reduce input broke$'):
        simulation.run()
    assert [[c.key for c in d.calls] for d in simulation.decisions] == [
        ['echo-0-0', 'echo-1-0', 'fail-0-0'], []]


class ChainedOps:
    """Results of first, finish_order and parallel_reduce passed on to more tasks."""

    def __init__(self, echo, inc, square, add, release):
        self.echo = echo
        self.inc = inc
        self.square = square
        self.add = add
        self.release = release

    def __call__(self, gate=None):
        slow, fast = self.echo(10, gate=gate), self.echo(20)
        self.release(gate, after=fast)
        return [self.inc(first(slow, fast)),
                self.echo(list(finish_order([slow, fast]))),
                self.square(parallel_reduce(self.add, [slow, fast, 3])),
                self.square(parallel_reduce(operator.add, [slow, fast])),
                self.echo({'first': [first([slow, fast])]})]


def test_operation_results_flow_into_other_calls(engine, gates):
    w = engine.workflow(ChainedOps, echo=acts.echo, inc=acts.inc, square=acts.square,
                        add=acts.add, release=acts.release)
    engine.check(w, (gates.new(),), expect=[21, [20, 10], 1089, 900, {'first': [20]}],
                 sequential=[11, [10, 20], 1089, 900, {'first': [10]}], timed=True)


class FinishOrderFailures:
    def __init__(self, echo, fail):
        self.echo = echo
        self.fail = fail

    def __call__(self):
        a = self.echo('a')
        bad = self.fail('bad', after=a)
        seen = []
        for result in finish_order([bad, a, 'plain']):
            try:
                seen.append(wait(result) + '!')
            except TaskError as exc:
                seen.append('error: %s' % exc)
        return seen


def test_finish_order_yields_failed_results_in_their_place(engine):
    w = engine.workflow(FinishOrderFailures, echo=acts.echo, fail=acts.fail)
    engine.check(w, expect=['plain!', 'a!', 'error: fail-0-0 failed: ActivityFailure: bad'],
                 sequential=Error('bad'))
