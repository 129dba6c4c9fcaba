"""Race three slow lookups: take the fastest with first(), then all in finish order.

Each ``lookup`` sleeps for its delay before answering, so the mirrors finish in the
order b, c, a whatever order they were called in.  Takes under a second and prints:

    fastest: mirror-b
    finish order: ['mirror-b', 'mirror-c', 'mirror-a']
    first with a plain value: cached
"""

import time

from flowy import LocalWorkflow, finish_order, first


def lookup(name, delay):
    time.sleep(delay)
    return 'mirror-' + name


class Race:
    def __init__(self, lookup):
        self.lookup = lookup

    def __call__(self, delays):
        answers = [self.lookup(name, delay) for name, delay in sorted(delays.items())]
        fastest = first(answers)
        in_order = [answer for answer in finish_order(answers)]
        # A plain value counts as already finished, so it beats any running task.
        cached = first('cached', answers[0])
        return {'fastest': fastest, 'in_order': in_order, 'cached': cached}


if __name__ == '__main__':
    w = LocalWorkflow(Race)
    w.conf_activity('lookup', lookup)
    result = w.run({'a': 0.6, 'b': 0.2, 'c': 0.4})
    print('fastest:', result['fastest'])
    print('finish order:', result['in_order'])
    print('first with a plain value:', result['cached'])
