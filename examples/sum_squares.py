"""Sum the squares of range(n): a map over one activity, then a parallel reduction.

Runs on the local engine (a process pool), then as plain sequential Python; both print 30.
"""

from flowy import LocalWorkflow, parallel_reduce


def sum_activity(n1, n2):
    return n1 + n2


def square_activity(n):
    return n ** 2


class SumSquares(object):
    def __init__(self, square, sum):
        self.square = square
        self.sum = sum

    def __call__(self, n=5):
        squares = map(self.square, range(n))
        return parallel_reduce(self.sum, squares)


if __name__ == '__main__':
    # Run it in parallel on multiple processes
    w = LocalWorkflow(SumSquares)
    w.conf_activity('square', square_activity)
    w.conf_activity('sum', sum_activity)
    print(w.run())

    # Or sequentially, without Flowy
    ss = SumSquares(square_activity, sum_activity)
    print(ss())
