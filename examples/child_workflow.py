"""A parent workflow that fans out to child workflows, configured with conf_workflow.

``ChunkSum`` (the child) squares the numbers of one chunk and adds them up.  ``SumOfChunks``
(the parent) splits ``range(n)`` into chunks, runs one child per chunk in parallel, and
adds the children's results with a plain function.  The children's activities share the
parent run's process pool.  Prints:

    sum of squares of range(20) in chunks of 6: 2470
    check with plain Python: 2470
"""

import operator

from flowy import LocalWorkflow, parallel_reduce


def square(n):
    return n * n


def add(a, b):
    return a + b


class ChunkSum:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, numbers):
        return parallel_reduce(self.add, [self.square(n) for n in numbers])


class SumOfChunks:
    def __init__(self, chunk_sum):
        self.chunk_sum = chunk_sum

    def __call__(self, n, size):
        numbers = list(range(n))
        chunks = [numbers[i:i + size] for i in range(0, n, size)]
        partial_sums = [self.chunk_sum(chunk) for chunk in chunks]
        # A plain function works as the reducer too; it runs in the workflow body.
        return parallel_reduce(operator.add, partial_sums)


if __name__ == '__main__':
    child = LocalWorkflow(ChunkSum)
    child.conf_activity('square', square)
    child.conf_activity('add', add)

    parent = LocalWorkflow(SumOfChunks)
    parent.conf_workflow('chunk_sum', child)
    print('sum of squares of range(20) in chunks of 6:', parent.run(20, 6))

    # The same classes as plain Python: the child is just a callable.
    plain = SumOfChunks(ChunkSum(square, add))
    print('check with plain Python:', plain(20, 6))
