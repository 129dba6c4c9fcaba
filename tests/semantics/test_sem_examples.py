"""The result contracts of the original flowy examples, on every engine.

Only the results are checked here; how long each example takes is tested elsewhere.
Activities square one number or add two (``sem_activities``).
"""

import pytest
import sem_activities as acts
from sem_harness import ORDERS

from flowy import finish_order, first, parallel_reduce, wait


class SequentialChain:
    """2 -> 4 -> 16 -> 256 -> 65536: each call waits for the one before."""

    def __init__(self, square):
        self.square = square

    def __call__(self, n, steps=4):
        for _ in range(steps):
            n = self.square(n)
        return n


class ParallelWait:
    """Four squares in parallel, wait for all of them, return the third."""

    def __init__(self, square):
        self.square = square

    def __call__(self):
        results = [self.square(n) for n in (1, 2, 3, 4)]
        for result in results:
            wait(result)
        return results[2]


class ParallelSum:
    def __init__(self, square):
        self.square = square

    def __call__(self):
        return sum(self.square(n) for n in (1, 2, 3, 4))


class WaitFirst:
    """``first`` of four squares; the last call is the fastest one."""

    def __init__(self, square, release):
        self.square = square
        self.release = release

    def __call__(self, gate=None):
        held = [self.square(n, gate=gate) for n in (1, 2, 3)]
        last = self.square(4)
        self.release(gate, after=last)
        return first(*held, last)


class WaitFirstTwo:
    """The sum of the first two squares to finish: 1 and 4 (9 and 16 wait for them)."""

    def __init__(self, square):
        self.square = square

    def __call__(self):
        one, two = self.square(1), self.square(2)
        three = self.square(3, after=[one, two])
        four = self.square(4, after=[one, two])
        ordered = finish_order([four, three, two, one])
        return next(ordered) + next(ordered)


class Conditional:
    def __init__(self, square, inc):
        self.square = square
        self.inc = inc

    def __call__(self, n):
        x = self.square(n)
        if x >= 100:
            return self.square(x // 5)
        return self.inc(x)


class NaiveMapReduce:
    """A left fold: each addition waits for the previous one."""

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        squares = [self.square(i) for i in range(1, n + 1)]
        total = squares[0]
        for x in squares[1:]:
            total = self.add(total, x)
        return total


class FinishOrderMapReduce:
    """A fold in finish order: add each square as soon as it is there."""

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        total = None
        for x in finish_order([self.square(i) for i in range(1, n + 1)]):
            total = x if total is None else self.add(total, x)
        return total


class ParallelMapReduce:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        return parallel_reduce(self.add, map(self.square, range(1, n + 1)))


class DocsExample:
    """The docs example: two squares in parallel, then their sum."""

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self):
        return self.add(self.square(2), self.square(10))


class SumSquares:
    """The README example: the sum of the squares of range(n), default n=5."""

    def __init__(self, square, sum):
        self.square = square
        self.sum = sum

    def __call__(self, n=5):
        squares = map(self.square, range(n))
        return parallel_reduce(self.sum, squares)


def test_sequential_chain(engine):
    w = engine.workflow(SequentialChain, square=acts.square)
    engine.check(w, (2,), expect=65536)


def test_parallel_wait(engine):
    engine.check(engine.workflow(ParallelWait, square=acts.square), expect=9)


def test_parallel_sum(engine):
    engine.check(engine.workflow(ParallelSum, square=acts.square), expect=30)


def test_wait_first(engine, gates):
    # Plain Python has no finish order: first() is its first argument there.
    w = engine.workflow(WaitFirst, square=acts.square, release=acts.release)
    engine.check(w, (gates.new(),), expect=16, sequential=1, timed=True)


def test_wait_first_two(engine):
    # finish_order() got [16, 9, 4, 1]; plain Python keeps that order.
    w = engine.workflow(WaitFirstTwo, square=acts.square)
    engine.check(w, expect=5, sequential=25)


@pytest.mark.parametrize('n, expected', [(10, 400), (3, 10)])
def test_conditional(engine, n, expected):
    w = engine.workflow(Conditional, square=acts.square, inc=acts.inc)
    engine.check(w, (n,), expect=expected)


@pytest.mark.parametrize('factory', [NaiveMapReduce, FinishOrderMapReduce, ParallelMapReduce])
def test_map_reduce(engine, factory):
    w = engine.workflow(factory, square=acts.square, add=acts.add)
    engine.check(w, (6,), expect=91)  # 1 + 4 + 9 + 16 + 25 + 36


def test_docs_example(engine):
    w = engine.workflow(DocsExample, square=acts.square, add=acts.add)
    engine.check(w, expect=104)


def test_readme_sum_squares(engine):
    w = engine.workflow(SumSquares, square=acts.square, sum=acts.add)
    engine.check(w, expect=30)
    engine.check(w, (7,), expect=91)


@pytest.mark.engine_only('replay')
def test_examples_make_the_expected_calls():
    from sem_harness import make_engine

    engine = make_engine('replay')
    for factory, args, calls in [
            (SequentialChain, (2,), ['square-%d-0' % i for i in range(4)]),
            (NaiveMapReduce, (6,), ['square-%d-0' % i for i in range(6)]
             + ['add-%d-0' % i for i in range(5)]),
            (ParallelMapReduce, (6,), ['square-%d-0' % i for i in range(6)]
             + ['add-%d-0' % i for i in range(5)])]:
        deps = {'square': acts.square}
        if factory is not SequentialChain:
            deps['add'] = acts.add
        engine.simulations = []
        engine.outcome(engine.workflow(factory, **deps), *args)
        assert len(engine.simulations) == len(ORDERS)
        for order, simulation in engine.simulations:
            made = sorted(call.key for decision in simulation.decisions
                          for call in decision.calls)
            assert made == sorted(calls), order
    # The chain waits for each square: one call per decision, in order.
    engine.simulations = []
    engine.outcome(engine.workflow(SequentialChain, square=acts.square), 2)
    for order, simulation in engine.simulations:
        per_decision = [[call.key for call in d.calls] for d in simulation.decisions]
        assert per_decision == [['square-0-0'], ['square-1-0'], ['square-2-0'],
                                ['square-3-0'], []], order
