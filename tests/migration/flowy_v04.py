"""The original flowy's 0.4 examples (its second API generation), written for flowy today.

Each section between ``# [name]`` and ``# [/name]`` is shown in docs/coming_from.rst;
tests/migration/test_translations.py runs every one.  Sleeps are arguments, so the
tests can make them short.
"""

import time
from concurrent.futures import ThreadPoolExecutor

from flowy import (
    LocalWorkflow,
    SWFActivityConfig,
    SWFWorkflowConfig,
    finish_order,
    first,
    parallel_reduce,
    wait,
)


# [two-squares]
def square_activity(n, seconds=1):
    time.sleep(seconds)
    return n ** 2


def sum_activity(a, b, seconds=1):
    time.sleep(seconds)
    return a + b


class TwoSquares:
    # The dependency names are the constructor's parameters, as in 0.4.
    def __init__(self, square, sum):
        self.square = square
        self.sum = sum

    def __call__(self, a, b, seconds=1):
        a_squared = self.square(a, seconds)
        b_squared = self.square(b, seconds)
        return self.sum(a_squared, b_squared, seconds)


def run_two_squares(a=2, b=10, seconds=1, executor=ThreadPoolExecutor):
    with LocalWorkflow(TwoSquares, executor=executor) as w:
        w.conf_activity('square', square_activity)
        w.conf_activity('sum', sum_activity)
        return w.run(a, b, seconds)      # 104 after two steps, not three
# [/two-squares]


# [sum-squares]
def square(n):
    return n ** 2


def add(n1, n2):
    return n1 + n2


class SumSquares:
    def __init__(self, square, sum):
        self.square = square
        self.sum = sum

    def __call__(self, n=5):
        # A list, not map(): flowy looks for results inside lists, tuples, dicts
        # and sets, and a list reads the same as plain Python.
        squares = [self.square(i) for i in range(n)]
        return parallel_reduce(self.sum, squares)


def run_sum_squares(n=5, executor=None):
    # The default executor is a process pool, as in 0.4; the tests pass threads.
    options = {} if executor is None else {'executor': executor}
    with LocalWorkflow(SumSquares, **options) as w:
        w.conf_activity('square', square)
        w.conf_activity('sum', add)
        return w.run(n)                  # 30 for n=5


def sum_squares_plain(n=5):
    return SumSquares(square, add)(n)    # 30 as well: no odd item is dropped
# [/sum-squares]


# [swf-config]
activities = SWFActivityConfig(default_task_list='math', default_heartbeat='NONE',
                               default_schedule_to_start=600,
                               default_start_to_close=60,
                               default_schedule_to_close=660)
activities(version='1', name='square')(square)
activities(version='1', name='sum')(add)

workflows = SWFWorkflowConfig(default_task_list='math-decisions',
                              default_workflow_duration=3600,
                              default_decision_duration=60)
workflows.conf_activity('square', version='1')
workflows.conf_activity('sum', version='1', retry=(0, 10, 60))  # 3 tries, as in 0.4
workflows(version='1')(SumSquares)
# [/swf-config]


# [patterns]
def slow_square(n, seconds):
    time.sleep(seconds)
    return n * n


def slow_add(a, b, seconds=0):
    time.sleep(seconds)
    return a + b


class Chain:
    """Square the previous result four times: 2, 4, 16, 256, 65536."""

    def __init__(self, square, add):
        self.square = square

    def __call__(self, unit, x=2):
        for _ in range(4):
            x = self.square(x, unit)
        return x


class AllThenOne:
    """Four squares at once; wait for all of them, return the third."""

    def __init__(self, square, add):
        self.square = square

    def __call__(self, unit):
        squares = [self.square(i, unit) for i in (1, 2, 3, 4)]
        for s in squares:
            wait(s)
        return squares[2]


class PlainSum:
    """Four squares at once, added up by the built-in sum() in the body."""

    def __init__(self, square, add):
        self.square = square

    def __call__(self, unit):
        # A list: a generator would make each call only after the previous value
        # had been added, one at a time.
        return sum([self.square(i, unit) for i in (1, 2, 3, 4)])


class Fastest:
    """The first square to finish (plain Python: the first argument)."""

    def __init__(self, square, add):
        self.square = square

    def __call__(self, unit):
        return first(self.square(1, 4 * unit), self.square(2, unit),
                     self.square(3, 2 * unit), self.square(4, 3 * unit))


class FastestTwo:
    """The sum of the two squares that finish first."""

    def __init__(self, square, add):
        self.square = square

    def __call__(self, unit):
        racing = finish_order(self.square(1, 2 * unit), self.square(2, unit),
                              self.square(3, 3 * unit), self.square(4, 4 * unit))
        return next(racing) + next(racing)


class Branch:
    """Branch on a result: the second call depends on the first one's value."""

    def __init__(self, square, add):
        self.square = square

    def __call__(self, unit):
        if self.square(10, unit) >= 100:
            return self.square(20, unit)
        return self.square(5, unit)


class LeftFold:
    """Squares of 1..6 at once (the first is the slowest), added left to right.

    91 after 11 units: every addition waits for the slowest square.
    """

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, unit):
        squares = [self.square(i, (7 - i) * unit) for i in range(1, 7)]
        total = squares[0]                     # the slowest square comes first
        for s in squares[1:]:
            total = self.add(total, s, unit)
        return total


class FinishOrderFold:
    """The same sum, folded in the order the squares finish: 91 after 7 units."""

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, unit):
        squares = [self.square(i, (7 - i) * unit) for i in range(1, 7)]
        arrived = finish_order(squares)
        total = next(arrived)
        for s in arrived:
            total = self.add(total, s, unit)
        return total


class TreeFold:
    """The same sum with parallel_reduce: any two finished inputs are added.

    ``parallel_reduce`` calls the task with two arguments, so ``add`` uses its
    default delay (none) here.
    """

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, unit):
        squares = [self.square(i, (7 - i) * unit) for i in range(1, 7)]
        return parallel_reduce(self.add, squares)   # add(a, b): its default delay


def run_pattern(workflow_class, unit=0.1):
    with LocalWorkflow(workflow_class, executor=ThreadPoolExecutor,
                       activity_workers=16) as w:
        w.conf_activity('square', slow_square)
        w.conf_activity('add', slow_add)
        return w.run(unit)


def run_pattern_plain(workflow_class, unit=0):
    return workflow_class(slow_square, slow_add)(unit)
# [/patterns]
