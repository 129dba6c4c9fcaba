"""Golden SWF histories (``tests/swf/golden/*.json``) replayed through the real decider.

Each file is a run recorded on moto by ``record_golden.py``: its events as boto3 returned
them, and the decisions the live decider sent at every decision task.  Here a stub client
serves the history up to each ``DecisionTaskStarted`` as a poll response, and the decider
must answer exactly the recorded decisions, in order:

* with ``driver='replay'`` (the body replayed from the top at every task);
* with ``driver='cached'``, fed task after task as SWF does (``previousStartedEventId``
  set, newest events first, only the new ones read), so the live body follows on; and
  with a cached decider that takes the run over at any task (a restarted process);
* in one page and in pages of four events.

``nondeterministic.json`` is a history of ``Drift``; replayed with the edited body
``DriftChanged`` under the same type, every task after the first call was recorded must
fail the run with a reason that says it is non-deterministic and names both calls.

Changing what the decider sends for these histories breaks running executions of users:
a failure here means either a regression, or an intended change that needs a note in the
changelog and a new recording (see ``record_golden.py``).
"""

import glob
import logging
import os

import pytest
from golden_workflows import (
    CASES,
    decision_points,
    load_golden,
    make_decider,
    recorded_decisions,
    replay_decisions,
)
from swf_events import check_decision, check_event

import flowy

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'golden')
PATHS = sorted(glob.glob(os.path.join(GOLDEN, '*.json')))
NAMES = [os.path.basename(path)[:-len('.json')] for path in PATHS]
PAGE_SIZES = [None, 4]

# the history event each decision leads to (the events naming the DecisionTaskCompleted)
EVENT_OF_DECISION = {
    'ScheduleActivityTask': 'ActivityTaskScheduled',
    'StartChildWorkflowExecution': 'StartChildWorkflowExecutionInitiated',
    'StartTimer': 'TimerStarted',
    'RecordMarker': 'MarkerRecorded',
    'CompleteWorkflowExecution': 'WorkflowExecutionCompleted',
    'FailWorkflowExecution': 'WorkflowExecutionFailed',
    'ContinueAsNewWorkflowExecution': 'WorkflowExecutionContinuedAsNew',
    'CancelWorkflowExecution': 'WorkflowExecutionCanceled',
    'CancelTimer': 'TimerCanceled',
    'RequestCancelActivityTask': 'ActivityTaskCancelRequested',
    'RequestCancelExternalWorkflowExecution': 'RequestCancelExternalWorkflowExecutionInitiated',
}


@pytest.fixture(scope='module', params=NAMES)
def golden(request):
    return load_golden(os.path.join(GOLDEN, request.param + '.json'))


@pytest.fixture
def deciders():
    """Make deciders with make_decider(); their live bodies are dropped at the end."""
    made = []

    def make(*args, **kwargs):
        decider = make_decider(*args, **kwargs)
        made.append(decider)
        return decider

    yield make
    for decider in made:
        decider.close()


def attributes(decision):
    kind = decision['decisionType']
    return decision[kind[0].lower() + kind[1:] + 'DecisionAttributes']


def test_every_case_is_recorded():
    assert NAMES == sorted(case.name for case in CASES)


@pytest.mark.parametrize('case', CASES, ids=lambda case: case.name)
def test_the_history_shows_what_the_case_is_about(case):
    record = load_golden(os.path.join(GOLDEN, case.name + '.json'))
    assert record['case'] == case.name
    assert record['workflowId'] == case.workflow_id
    assert record['workflowType'] == {'name': case.workflow, 'version': '1'}
    assert case.shows <= {event['eventType'] for event in record['events']}


def test_the_file_is_a_history_as_boto3_returns_it(golden):
    events = golden['events']
    assert [event['eventId'] for event in events] == list(range(1, len(events) + 1))
    for event in events:
        check_event(event)
    started = events[0]['workflowExecutionStartedEventAttributes']
    assert events[0]['eventType'] == 'WorkflowExecutionStarted'
    assert started['workflowType'] == golden['workflowType']
    assert started['input'] == golden['input']
    assert events[-1]['eventType'] in {event for event in EVENT_OF_DECISION.values()
                                       if event.startswith('WorkflowExecution')}


def test_the_recorded_decisions_are_valid_swf_decisions(golden):
    points = golden['decisions'] + golden.get('changedDecisions', [])
    assert points
    for point in points:
        decisions = point['decisions']
        assert len(decisions) <= 100
        for decision in decisions:
            check_decision(decision)
        closing = [decision for decision in decisions
                   if EVENT_OF_DECISION[decision['decisionType']].startswith('WorkflowExecution')]
        assert closing in ([], decisions[-1:]), 'a close decision must come last'


def test_the_recorded_decisions_are_those_the_history_shows(golden):
    """One decision point per answered task, and each decision became its event, in order."""
    events = golden['events']
    assert [started for started, _ in recorded_decisions(golden)] == [
        started for started, _ in decision_points(events)]
    completed_by = {event['decisionTaskCompletedEventAttributes']['startedEventId']:
                    event['eventId'] for event in events
                    if event['eventType'] == 'DecisionTaskCompleted'}
    for started, decisions in recorded_decisions(golden):
        completed = completed_by[started]
        produced = [event for event in events if any(
            value.get('decisionTaskCompletedEventId') == completed
            for key, value in event.items() if key.endswith('EventAttributes'))]
        assert [event['eventType'] for event in produced] == [
            EVENT_OF_DECISION[decision['decisionType']] for decision in decisions]
        for decision, event in zip(decisions, produced, strict=True):
            wanted = attributes(decision)
            got = next(value for key, value in event.items() if key.endswith('EventAttributes'))
            for field in ('activityId', 'workflowId', 'timerId', 'input', 'control', 'result'):
                if field in wanted:
                    assert got[field] == wanted[field], (started, field)


@pytest.mark.parametrize('page_size', PAGE_SIZES)
def test_the_replay_driver_decides_as_recorded(golden, deciders, page_size):
    decider = deciders('replay')
    assert replay_decisions(golden, decider, page_size=page_size) == recorded_decisions(golden)
    stats = decider.stats
    assert stats['failed'] == stats['unanswered'] == 0


@pytest.mark.parametrize('page_size', PAGE_SIZES)
def test_the_cached_driver_fed_task_after_task_decides_as_recorded(golden, deciders,
                                                                   page_size):
    decider = deciders('cached')
    assert replay_decisions(golden, decider, page_size=page_size) == recorded_decisions(golden)
    stats = decider.stats
    assert stats['failed'] == stats['unanswered'] == 0
    # one full read at the first task; every later one read only its new events
    assert stats['replays'] == 1
    assert stats['cached'] == stats['decision_tasks'] - 1
    if page_size is not None:  # each task read its new events, and one page reaching back
        last_started = decision_points(golden['events'])[-1][0]
        assert stats['events'] <= last_started + page_size * stats['decision_tasks']


def test_a_cached_decider_taking_over_at_any_task_decides_as_recorded(golden, deciders):
    points = decision_points(golden['events'])
    expected = recorded_decisions(golden)
    for index in range(len(points)):
        decider = deciders('cached')
        assert replay_decisions(golden, decider, points[index:]) == expected[index:], index
        assert decider.stats['replays'] == 1


# -- the non-deterministic history --------------------------------------------------------------


@pytest.fixture(scope='module')
def drifted():
    return load_golden(os.path.join(GOLDEN, 'nondeterministic.json'))


def test_the_nondeterministic_case_is_recorded_with_the_original_body(drifted):
    assert drifted['workflowType'] == {'name': 'Drift', 'version': '1'}
    assert drifted['changedBody'] == 'DriftChanged'
    first = recorded_decisions(drifted)[0][1]
    assert attributes(first[0])['activityId'] == 'square-0-0'


@pytest.mark.parametrize('driver', ['replay', 'cached'])
def test_an_edited_body_fails_the_run_as_nondeterministic(drifted, deciders, driver, caplog):
    """A decider with DriftChanged takes the run over at each task; it must fail it."""
    points = dict(decision_points(drifted['events']))
    changed = drifted['changedDecisions']
    assert [point['startedEventId'] for point in changed] == list(points)
    for index, point in enumerate(changed):
        started = point['startedEventId']
        decider = deciders(driver, changed=True)
        with caplog.at_level(logging.CRITICAL, logger='flowy.swf.decider'):
            answers = replay_decisions(drifted, decider, [(started, points[started])])
        assert answers == [(started, point['decisions'])]
        decisions = point['decisions']
        if index == 0:
            # nothing recorded yet: the edited body cannot be told apart, it just starts
            assert [attributes(d)['activityId'] for d in decisions] == ['double-0-0']
            assert decider.stats['failed'] == 0
            continue
        assert [d['decisionType'] for d in decisions] == ['FailWorkflowExecution']
        reason = attributes(decisions[0])['reason']
        assert reason.startswith('non-deterministic workflow Drift 1: ')
        assert 'task call #0 is double-0, but the history recorded square-0 there' in reason
        assert decider.stats['failed'] == 1


def test_the_original_body_replays_the_nondeterministic_history_clean(drifted, deciders):
    decider = deciders('replay')
    answers = replay_decisions(drifted, decider)
    assert answers == recorded_decisions(drifted)
    assert not any(d['decisionType'] == 'FailWorkflowExecution'
                   for _, decisions in answers for d in decisions)


# -- SWFWorkflowWorker.check_history: the check users run before deploying a change ----------

@pytest.mark.parametrize('name', NAMES)
def test_the_code_that_recorded_a_history_passes_the_check(name):
    record = load_golden(os.path.join(GOLDEN, name + '.json'))
    decision = make_decider('replay').check_history(record['events'])
    assert decision is not None


def test_a_changed_body_fails_the_check_naming_the_call(drifted):
    with pytest.raises(flowy.NondeterminismError) as raised:
        make_decider('replay', changed=True).check_history(drifted['events'])
    message = str(raised.value)
    assert message.startswith('Drift 1: ')
    assert 'task call #0 is double-0, but the history recorded square-0 there' in message


def test_a_history_of_an_unknown_type_is_a_lookup_error(drifted):
    from flowy.swf.decider import SWFWorkflowWorker

    with pytest.raises(LookupError, match='runs no workflow Drift version 1'):
        SWFWorkflowWorker().check_history(drifted['events'])
