"""The drivers' policies hold on the SWF decider: a body never stops or jams the decider.

A body that calls ``sys.exit`` fails its run, and a body whose result holds a value that
cannot be encoded without waiting fails its run; either way the decider goes on serving
the other executions it polls, with either driver.
"""

import sys

import pytest
from test_decider import DRIVERS, Chain, StubSWF, config, drive, result_of, sim_for, worker_for

from flowy import wait


class Exits:
    def __init__(self, square, add):
        self.square = square

    def __call__(self, n):
        if wait(self.square(n)) > 0:
            sys.exit(3)
        return 0


class Pending:
    def __init__(self, result):
        self.result = result

    def __json__(self):
        return [self.result]


class ReturnsPending:
    def __init__(self, square, add):
        self.square = square

    def __call__(self, n):
        return Pending(self.square(n))


def flows_for(driver, factory):
    worker = worker_for(Chain, driver)
    worker.register(config(), factory, '1', name='Odd')
    return worker


@pytest.mark.timeout(60)
@pytest.mark.parametrize('driver', DRIVERS)
@pytest.mark.parametrize('factory, reason', [
    (Exits, 'SystemExit: 3'),
    (ReturnsPending, 'cannot serialize the workflow result: it holds the result of square-0-0, '
                     'which has not finished'),
], ids=['sys.exit', 'pending-in-result'])
def test_a_body_fails_its_run_and_the_decider_serves_the_others(driver, factory, reason):
    worker = flows_for(driver, factory)
    odd = sim_for(worker, 2, name='Odd', workflow_id='odd')
    fine = sim_for(worker, 3, workflow_id='fine')
    drive(worker, StubSWF(odd, fine))
    kind, fail = odd.closed
    assert kind == 'FailWorkflowExecution'
    assert reason in fail['reason']
    assert result_of(fine) == 0 + 1 + 4
