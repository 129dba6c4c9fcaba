"""Two independent squares run in parallel, then their sum: prints 104 in about 2 s.

Each activity sleeps for one second; sequentially this would take 3 s.
"""

import time

import flowy


def sum_activity(a, b):
    time.sleep(1)
    return a + b


def square_activity(n):
    time.sleep(1)
    return n ** 2


class ExampleWorkflow(object):
    def __init__(self, square, sum):
        self.square = square
        self.sum = sum

    def __call__(self, a, b):
        a_squared = self.square(a)
        b_squared = self.square(b)
        return self.sum(a_squared, b_squared)


if __name__ == '__main__':
    w = flowy.LocalWorkflow(ExampleWorkflow)
    w.conf_activity('square', square_activity)
    w.conf_activity('sum', sum_activity)
    start = time.perf_counter()
    print(w.run(2, 10))
    print('took %.1f s' % (time.perf_counter() - start))
