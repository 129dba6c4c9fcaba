"""Process a long input one page at a time, restarting the workflow after each page.

``restart(...)`` ends the current run and starts a new one with a fresh, empty
history and new arguments, so no single run's history grows with the input.  Here
each run squares one page of numbers, and restarts with the next offset and the total
so far.  The last run returns the total.  Prints:

    sum of squares of range(10), 3 per run: 285 (4 runs)
"""

from flowy import LocalWorkflow, parallel_reduce, restart
from flowy.local import Tracer


def square(n):
    return n * n


def add(a, b):
    return a + b


class PagedSumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n, page_size, offset=0, total=0):
        page = range(offset, min(offset + page_size, n))
        page_sum = parallel_reduce(self.add, [self.square(i) for i in page])
        if offset + page_size >= n:
            return total + page_sum
        # The arguments may hold task results: the restart waits for them.
        return restart(n, page_size, offset=offset + page_size, total=total + page_sum)


if __name__ == '__main__':
    w = LocalWorkflow(PagedSumSquares)
    w.conf_activity('square', square)
    w.conf_activity('add', add)
    tracer = Tracer()  # only used here to count the runs
    result = w.run(10, 3, _trace=tracer)
    print(f'sum of squares of range(10), 3 per run: {result} ({len(tracer.workflows)} runs)')
