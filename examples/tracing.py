"""Trace a run and draw it as a Graphviz graph.

Runs the sum-of-squares workflow with a :class:`flowy.local.Tracer`, then writes
``sum_squares.dot`` (and ``sum_squares.svg`` when the Graphviz programs are installed)
into the directory given as the first argument, or a new temporary directory.  Each
task is a node labelled with its call key, the decision that started it and its
result; edges show which results each call used.  Prints the result and the paths,
for example:

    result: 30
    wrote /tmp/flowy-trace-abc123/sum_squares.dot
    wrote /tmp/flowy-trace-abc123/sum_squares.svg

Without Graphviz only the DOT file is written, and a note says so.
"""

import os
import sys
import tempfile
import warnings

from flowy import LocalWorkflow, parallel_reduce
from flowy.local import Tracer


def square(n):
    return n * n


def add(a, b):
    return a + b


class SumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n=5):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


if __name__ == '__main__':
    directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='flowy-trace-')
    w = LocalWorkflow(SumSquares)
    w.conf_activity('square', square)
    w.conf_activity('add', add)

    tracer = Tracer()
    print('result:', w.run(_trace=tracer))

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # a missing Graphviz is reported below instead
        paths = tracer.write(os.path.join(directory, 'sum_squares'))
    for path in paths:
        print('wrote', path)
    if len(paths) == 1:
        print('note: Graphviz is not installed, so no SVG was rendered '
              f'(render later with: dot -Tsvg -O {paths[0]})')
