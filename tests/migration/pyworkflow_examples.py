"""pyworkflow's documented examples, written for flowy.

Each section between ``# [name]`` and ``# [/name]`` is shown in docs/coming_from.rst;
tests/migration/test_translations.py runs every one on the local engine.
"""

from concurrent.futures import ThreadPoolExecutor

import flowy
from flowy import LocalWorkflow, SWFActivityConfig, SWFWorkflowConfig, TaskError


# [multiplication]
class Aborted(Exception):
    """What returning ActivityAborted meant: give up, and say why."""


def multiply(pair):
    if not isinstance(pair, list) or len(pair) != 2:
        raise ValueError('invalid input: expected [a, b]')
    a, b = pair
    if a > 10:
        raise Aborted('first operand must be <= 10')
    result = 0
    for _ in range(a):          # multiplication is repeated addition
        result += b
        flowy.heartbeat()       # a sign of life
    return result
# [/multiplication]


# [foo-workflow]
class FooWorkflow:
    """decide() returned one decision per call; the body is the whole process.

    The README leaves its condition open; here it is "the product so far is
    still below ``until``", and each further step doubles the product.
    """

    def __init__(self, multiplication):
        self.multiplication = multiplication

    def __call__(self, pair, until=0):
        product = self.multiplication(pair)     # ScheduleActivity(..., input=pair)
        while product < until:                  # foo_bar_conditional(history)
            product = self.multiplication([2, product])
        return product                          # CompleteProcess(result=...)


def memory_manager():
    """Manager(backend=MemoryBackend(), workflows=[FooWorkflow])."""
    w = LocalWorkflow(FooWorkflow, executor=ThreadPoolExecutor)
    w.conf_activity('multiplication', multiply,
                    timeout=10)                 # execution_timeout = 10
    return w


def run_foo(pair, until=0):
    with memory_manager() as manager:
        process = manager.start(pair, until)    # manager.start_process(Process(...))
        try:
            return process.result(timeout=10)
        except TaskError as error:
            return 'failed: %s' % error.reason
# [/foo-workflow]


# [amazon-swf]
swf_activities = SWFActivityConfig(default_task_list='multiplication',
                                   default_schedule_to_start=300,  # scheduled_timeout
                                   default_start_to_close=10,      # execution_timeout
                                   default_schedule_to_close=310,
                                   default_heartbeat='NONE')
swf_activities(version='1', name='MultiplicationActivity')(multiply)

swf_workflows = SWFWorkflowConfig(default_task_list='decisions',
                                  default_workflow_duration=3600,
                                  default_decision_duration=60)
swf_workflows.conf_activity('multiplication', version='1',
                            name='MultiplicationActivity')
swf_workflows(version='1')(FooWorkflow)
# [/amazon-swf]
