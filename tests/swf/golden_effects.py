"""The golden workflows of timers, signals, markers, now() and cancellations.

Part of ``golden_workflows.py`` (which scans this module too and adds :data:`CASES` to
its own): the workflows, their activities, and what the recording script does to a run
while it runs (``act``: send a signal, cancel the run).
"""

import time

import flowy
from flowy import TaskCancelled, first, wait
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig
from flowy.swf.control import SWFExecutions

DOMAIN = 'golden'
DECISIONS = 'golden-decisions'
WORK = 'golden-work'
BLOCK = 30  # seconds the blocker waits for its cancellation at most

effect_activities = SWFActivityConfig(default_task_list=WORK, default_heartbeat=120,
                                      default_schedule_to_close=240,
                                      default_schedule_to_start=120,
                                      default_start_to_close=120)


@effect_activities(version='1')
def triple(n):
    return 3 * n


@effect_activities(version='1')
def blocker():
    """Heartbeats until SWF asks it to stop, then says so by raising."""
    deadline = time.monotonic() + BLOCK
    while time.monotonic() < deadline:
        if flowy.heartbeat():
            raise RuntimeError('stopped on request')
        time.sleep(0.02)
    return 'never cancelled'


effects = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=600,
                            default_decision_duration=30, default_child_policy='TERMINATE')
effects.conf_activity('triple', version='1')
effects.conf_activity('blocker', version='1')
effects.conf_workflow('waiter', version='1', name='Waiter')


class _Effects:
    def __init__(self, triple, blocker, waiter):
        self.triple = triple
        self.blocker = blocker
        self.waiter = waiter


@effects(version='1')
class Approval(_Effects):
    """Waits for an 'approve' signal, with a deadline of ``seconds``."""

    def __call__(self, seconds):
        asked = flowy.now().timestamp()
        answer = wait(first(flowy.wait_signal('approve'), flowy.sleep(seconds)))
        if answer is None:
            return 'expired'
        return {'approved_by': answer, 'asked': asked}


@effects(version='1')
class Waiter(_Effects):
    """Waits for a 'go' signal, with the blocker running (a child, or a run to cancel)."""

    def __call__(self, block=False):
        if block:
            self.blocker()
        return wait(flowy.wait_signal('go'))


@effects(version='1')
class Cancellations(_Effects):
    """A marker and now(); then cancels a timer, an activity, a child and an unstarted call."""

    def __call__(self, n):
        flowy.marker('begin', {'n': n})
        started = flowy.now().timestamp()
        timer, running, child = flowy.sleep(600), self.blocker(), self.waiter()
        unstarted = self.triple(running)
        wait(self.triple(n))
        for result in (timer, running, child, unstarted):
            flowy.cancel(result)
        outcomes = []
        for result in (timer, running, child, unstarted):
            try:
                outcomes.append(wait(result))
            except TaskCancelled as exc:
                outcomes.append(str(exc))
        return {'started': started, 'outcomes': outcomes}


def _events(live, workflow_id, run_id):
    return [event['eventType'] for event in live.swf.get_workflow_execution_history(
        DOMAIN, workflow_id, run_id)['events']]


def _wait_for(live, workflow_id, run_id, event_type, timeout=30):
    deadline = time.monotonic() + timeout
    while event_type not in _events(live, workflow_id, run_id):
        if time.monotonic() > deadline:
            raise TimeoutError('no %s in %s' % (event_type, workflow_id))
        time.sleep(0.02)


def approve(live, workflow_id, run_id):
    _wait_for(live, workflow_id, run_id, 'TimerStarted')
    SWFExecutions(DOMAIN, live.swf).signal(workflow_id, 'approve', 'ann', run_id=run_id)


def cancel_run(live, workflow_id, run_id):
    _wait_for(live, workflow_id, run_id, 'ActivityTaskStarted')
    SWFExecutions(DOMAIN, live.swf).cancel(workflow_id, run_id=run_id)


#: (name, workflow, args, description, event types shown, act)
CASES = [
    ('approval_signal', 'Approval', [600], 'an approval signal arrives before the deadline '
     'timer of 600 s fires (WorkflowExecutionSignaled); now() is recorded by a marker',
     {'TimerStarted', 'WorkflowExecutionSignaled', 'MarkerRecorded'}, approve),
    ('approval_deadline', 'Approval', [1], 'no signal arrives: the 1 s deadline timer fires '
     '(TimerFired) and the body gives up', {'TimerStarted', 'TimerFired'}, None),
    ('cancellations', 'Cancellations', [2], 'a marker and now(), then cancel() of a timer '
     '(CancelTimer), a running activity (RequestCancelActivityTask), a child workflow '
     '(RequestCancelExternalWorkflowExecution) and a call waiting for its argument (a '
     'flowy.cancelled marker)', {'MarkerRecorded', 'TimerCanceled',
                                  'ActivityTaskCancelRequested',
                                  'RequestCancelExternalWorkflowExecutionInitiated'}, None),
    ('run_cancelled', 'Waiter', [True], 'the run is cancelled from outside '
     '(WorkflowExecutionCancelRequested): the decider cancels its running activity and '
     'closes it (CancelWorkflowExecution)', {'WorkflowExecutionCancelRequested',
                                              'ActivityTaskCancelRequested',
                                              'WorkflowExecutionCanceled'}, cancel_run),
]
