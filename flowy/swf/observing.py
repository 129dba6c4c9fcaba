"""The SWF decider's side of :mod:`flowy.events`: what a decision task tells of its run.

The decider reports what it reads in a run's history and what it decides: the run's
start (at its first decision task), each decision, the calls and timers it schedules,
the outcomes that arrived since its last decision of that run, and the run's end.  The
activity worker reports the tasks it runs itself (sender ``'swf-activity'``).  A
decider that reads a run's whole history again (its cache lost the run) does not
report that run's older outcomes a second time.
"""

import json

from .. import events
from ..history import CANCELLED, COMPLETED, FAILED, TIMEDOUT, is_builtin

__all__ = ['report_decision', 'SENDER']

SENDER = 'swf-decider'

_SCHEDULING = {'ScheduleActivityTask': ('activityId', 'activity'),
               'StartChildWorkflowExecution': (None, 'workflow'),
               'StartTimer': ('timerId', 'timer')}
_ENDS = {'CompleteWorkflowExecution': None, 'FailWorkflowExecution': False,
         'CancelWorkflowExecution': True}


def report_decision(run_key, workflow, history, first, seen, decisions, duration):
    """Send the events of one decision task; return how many outcomes are reported.

    ``seen`` is how many of ``history``'s outcomes were reported before (None: unknown,
    report none of the older ones), ``first`` whether this is the run's first decision.
    """
    finished = history.finished
    if not _listened():
        return finished
    fields = {'run_id': run_key[1], 'workflow': workflow}
    if first:
        events.send(events.run_started, SENDER, parent=None, parent_key=None, **fields)
    if seen is not None:
        for key in history.finished_since(seen):
            _report_outcome(key, history.get(key), fields)
    events.send(events.decision_made, SENDER, calls=len(decisions), duration=duration,
                **fields)
    for decision in decisions:
        _report_decision(decision, fields)
    return finished


def _listened():
    return any(event.receivers for event in events.ALL.values())


def _report_outcome(key, outcome, fields):
    if is_builtin(key) and not key.startswith('@sleep'):
        return  # markers and signals are not tasks
    state = outcome.state
    if state is COMPLETED:
        _task(events.task_finished, key, fields)
    elif state is FAILED or state is CANCELLED:
        _task(events.task_failed, key, fields, reason=outcome.reason,
              cancelled=state is CANCELLED)
    elif state is TIMEDOUT:
        _task(events.task_timed_out, key, fields, reason=outcome.reason)


def _report_decision(decision, fields):
    kind = decision['decisionType']
    if kind in _SCHEDULING:
        id_field, task_kind = _SCHEDULING[kind]
        attributes = decision.get(kind[0].lower() + kind[1:] + 'DecisionAttributes', {})
        key = _key(attributes, id_field)
        if key is not None and (task_kind != 'timer' or key.startswith('@sleep')):
            _task(events.task_scheduled, key, fields, kind=task_kind)
            if not is_builtin(key) and not key.endswith('-0'):
                _task(events.task_retried, key, fields, delay=0)
    elif kind in _ENDS:
        cancelled = _ENDS[kind]
        if cancelled is None:
            events.send(events.run_finished, SENDER, parent=None, parent_key=None,
                        duration=None, restarted=False, **fields)
        else:
            attributes = decision.get(kind[0].lower() + kind[1:] + 'DecisionAttributes', {})
            events.send(events.run_failed, SENDER, parent=None, parent_key=None,
                        reason=attributes.get('reason') or attributes.get('details') or '',
                        cancelled=cancelled, duration=None, **fields)


def _key(attributes, id_field):
    if id_field is not None:
        return attributes.get(id_field)
    try:  # a child workflow: its call key travels in the control field
        return json.loads(attributes.get('control') or '{}').get('key')
    except ValueError:
        return None


def _task(event, key, fields, **more):
    if is_builtin(key):
        dep, attempt = key.rpartition('-')[0], 0
    else:
        call, _, attempt = key.rpartition('-')
        dep, attempt = call.rpartition('-')[0], int(attempt)
    events.send(event, SENDER, key=key, dep=dep, attempt=attempt, **fields, **more)
