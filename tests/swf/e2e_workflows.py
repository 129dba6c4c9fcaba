"""Workflows and activities for the end-to-end tests of the ``flowy`` command.

The decider and activity worker subprocesses import this module by name (the tests put
this directory on PYTHONPATH); ``flowy run`` scans it in the test process.
"""

import time

from flowy import parallel_reduce
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig

DECISIONS = 'e2e-decisions'
WORK = 'e2e-work'

activities = SWFActivityConfig(default_task_list=WORK, default_heartbeat=120,
                               default_schedule_to_close=240, default_schedule_to_start=120,
                               default_start_to_close=120)


@activities(version='1')
def square(n):
    return n * n


@activities(version='1')
def add(a, b):
    return a + b


@activities(version='1')
def nap(seconds):
    time.sleep(seconds)
    return seconds


@activities(version='1')
def length(text):
    return len(text)


@activities(version='1')
def explode(n):
    raise ValueError('cannot handle %d' % n)


workflows = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=300,
                              default_decision_duration=30, default_child_policy='TERMINATE')
workflows.conf_activity('square', version='1')
workflows.conf_activity('add', version='1')


@workflows(version='1')
class SumSquares:
    """Fan out one square per number below ``n``, then add them up as they finish."""

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n, offset=0):
        squares = [self.square(i) for i in range(n)]
        return parallel_reduce(self.add, squares) + offset


# no default child policy (nor, below, timeouts): `flowy run` supplies them when starting
failing = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=300,
                            default_decision_duration=30)
failing.conf_activity('explode', version='1')


@failing(version='1')
class Explodes:
    """Fails: its only activity raises."""

    def __init__(self, explode):
        self.explode = explode

    def __call__(self, n):
        return self.explode(n)


slow = SWFWorkflowConfig(default_task_list=DECISIONS)
slow.conf_activity('nap', version='1')


@slow(version='1')
class Naps:
    """Takes as long as its activity sleeps."""

    def __init__(self, nap):
        self.nap = nap

    def __call__(self, seconds):
        return self.nap(seconds)


measuring = SWFWorkflowConfig(default_task_list=DECISIONS, default_child_policy='TERMINATE')
measuring.conf_activity('length', version='1')


@measuring(version='1')
class Measure:
    """The length of its input text, measured by an activity (large inputs: payload store)."""

    def __init__(self, length):
        self.length = length

    def __call__(self, text):
        return self.length(text)
