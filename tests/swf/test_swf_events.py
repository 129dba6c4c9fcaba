"""Malformed and disordered SWF histories: always a HistoryError that names the event.

A history the decider cannot read must fail the run with a reason that says why, never
raise KeyError or TypeError out of the decider (which would leave the decision task to
time out and come back for ever).  The same checks hold for a live decision task and for
``SWFWorkflowWorker.check_history``.  Valid histories come from the golden records
(real moto histories) and from EventLog; the property tests break one part of one event.
"""

import copy
import glob
import os

import pytest
from golden_workflows import decision_points, load_golden, make_decider
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from swf_events import EventLog

from flowy import FlowyError
from flowy.swf.events import (
    HistoryError,
    MissingEvents,
    attributes_key,
    check_sequence,
    event_attributes,
    event_id,
)
from flowy.swf.history import ExecutionHistory, read_history

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'golden')
RECORDS = [load_golden(path) for path in sorted(glob.glob(os.path.join(GOLDEN, '*.json')))]


def started_log():
    log = EventLog()
    log.workflow_started(input='[[2],{}]')
    return log, log.decision_round()


def timer_history():
    """A history whose last event is a TimerFired."""
    log, completed = started_log()
    started = log.timer_started('square-0-1.retry', completed)
    log.timer_fired('square-0-1.retry', started)
    return log


def activity_history():
    log, completed = started_log()
    log.activity_completed(log.activity_scheduled('square-0-0', completed, position=0),
                           result='4')
    return log


def attributes_of(event):
    return event[attributes_key(event['eventType'])]


# -- the readers -----------------------------------------------------------------------------


def test_history_errors_are_flowy_errors_and_value_errors():
    assert issubclass(HistoryError, FlowyError) and issubclass(HistoryError, ValueError)
    assert issubclass(MissingEvents, HistoryError)


@pytest.mark.parametrize('event, message', [
    ({'eventType': 'TimerFired'}, 'has no eventId'),
    ({'eventId': '3', 'eventType': 'TimerFired'}, "eventId '3' is not a whole number"),
    ({'eventId': 0, 'eventType': 'TimerFired'}, 'eventId 0 is not a whole number'),
    ({'eventId': True, 'eventType': 'TimerFired'}, 'eventId True'),
    (['eventId', 3], 'an event that is a list'),
])
def test_an_event_id_must_be_a_whole_number_from_one(event, message):
    with pytest.raises(HistoryError, match=message):
        event_id(event)


@pytest.mark.parametrize('value, message', [
    (None, 'timerFiredEventAttributes is missing'),
    ('timerId', 'timerFiredEventAttributes is a str, not a dict'),
])
def test_event_attributes_must_be_a_dict(value, message):
    event = {'eventId': 5, 'eventType': 'TimerFired', 'timerFiredEventAttributes': value}
    with pytest.raises(HistoryError, match=message) as raised:
        event_attributes(event, 'TimerFired')
    assert 'event 5 (TimerFired)' in str(raised.value)


def numbered(*ids):
    return [{'eventId': number, 'eventType': 'DecisionTaskScheduled'} for number in ids]


@pytest.mark.parametrize('ids, error, message', [
    ((1, 2, 2, 3), HistoryError, 'event 2 .* comes after event 2'),
    ((1, 3, 2), MissingEvents, 'event 2 is missing'),
    ((2, 1), MissingEvents, 'event 1 is missing'),
    ((1, 2, 4), MissingEvents, 'event 3 is missing'),
])
def test_check_sequence(ids, error, message):
    with pytest.raises(error, match=message):
        check_sequence(numbered(*ids))


def test_check_sequence_knows_where_a_history_ends():
    check_sequence(numbered(4, 5), first=4, last=5)
    with pytest.raises(MissingEvents, match='ends at event 5; it should reach event 7'):
        check_sequence(numbered(1, 2, 3, 4, 5), last=7)


# -- malformed events are HistoryErrors that name the event, its type and the attribute ----


def break_last(log, change):
    events = copy.deepcopy(log.events)
    change(events[-1])
    return events


@pytest.mark.parametrize('history, change, named', [
    (timer_history, lambda e: attributes_of(e).pop('timerId'), 'timerId is missing'),
    (timer_history, lambda e: attributes_of(e).update(timerId=7), 'timerId is a int'),
    (timer_history, lambda e: e.pop('timerFiredEventAttributes'),
     'timerFiredEventAttributes is missing'),
    (timer_history, lambda e: e.update(timerFiredEventAttributes=['timerId']),
     'timerFiredEventAttributes is a list'),
    (activity_history, lambda e: attributes_of(e).pop('scheduledEventId'),
     'scheduledEventId is missing'),
    (activity_history, lambda e: attributes_of(e).update(scheduledEventId='5'),
     'scheduledEventId is a str'),
    (activity_history, lambda e: attributes_of(e).update(result=[4]), 'result is a list'),
])
def test_a_malformed_event_is_a_history_error_naming_it(history, change, named):
    events = break_last(history(), change)
    last = events[-1]
    with pytest.raises(HistoryError, match=named) as raised:
        ExecutionHistory('order-7').feed(events)
    assert 'event %d (%s)' % (last['eventId'], last['eventType']) in str(raised.value)


def test_a_schedule_without_activity_id_is_a_history_error():
    log, completed = started_log()
    log.activity_scheduled('square-0-0', completed, position=0)
    events = break_last(log, lambda e: attributes_of(e).pop('activityId'))
    with pytest.raises(HistoryError, match=r'event 5 \(ActivityTaskScheduled\): the '
                                           'attribute activityId is missing'):
        ExecutionHistory('order-7').feed(events)


def test_a_start_event_without_its_type_is_a_history_error():
    log, _ = started_log()
    events = copy.deepcopy(log.events)
    attributes_of(events[0])['workflowType'] = {'name': 'Flow'}
    with pytest.raises(HistoryError, match='workflowType.version is missing'):
        read_history(events)


def test_a_history_must_begin_with_the_start_of_the_run():
    log, _ = started_log()
    events = copy.deepcopy(log.events)
    events[0]['eventType'] = 'DecisionTaskScheduled'
    with pytest.raises(HistoryError, match='event 1 is DecisionTaskScheduled'):
        read_history(events)
    with pytest.raises(HistoryError, match='it has no events'):
        read_history([])


# -- check_history reads a recorded history as a live decider does --------------------------


def recorded(name='chain'):
    return copy.deepcopy(next(r for r in RECORDS if r['case'] == name)['events'])


def check(events):
    return make_decider('replay').check_history(events)


def test_check_history_passes_a_recorded_history():
    assert check(recorded()) is not None


def test_check_history_refuses_a_repeated_event_id():
    events = recorded()
    events.insert(5, copy.deepcopy(events[4]))
    with pytest.raises(HistoryError, match='event 5 .* comes after event 5'):
        check(events)


def test_check_history_refuses_events_out_of_order():
    events = recorded()
    events[4], events[5] = events[5], events[4]
    with pytest.raises(HistoryError, match='event 6 .* follows event 4: event 5 is missing'):
        check(events)


def test_check_history_refuses_a_gap():
    events = recorded()
    del events[6]
    with pytest.raises(MissingEvents, match='event 7 is missing'):
        check(events)


def test_check_history_refuses_a_start_event_out_of_place():
    events = recorded()
    events[0], events[1] = events[1], events[0]
    with pytest.raises(HistoryError):
        check(events)


@pytest.mark.parametrize('change, named', [
    (lambda e: e.update(eventId=str(e['eventId'])), "eventId '5'"),
    (lambda e: e.update(activityTaskScheduledEventAttributes='double-0-0'),
     'activityTaskScheduledEventAttributes is a str'),
    (lambda e: e.pop('eventType'), 'eventType None'),
])
def test_check_history_refuses_mistyped_events(change, named):
    events = recorded()
    change(events[4])
    with pytest.raises(HistoryError, match=named):
        check(events)


# -- the decider fails the run, naming the event ------------------------------------------------


class OneTask:
    """SWF's decision task calls for one task: ``events``, in one page, then responses."""

    def __init__(self, record, events, started):
        self.response = {
            'taskToken': 'token-1', 'startedEventId': started, 'previousStartedEventId': 0,
            'workflowExecution': {'workflowId': record['workflowId'], 'runId': record['runId']},
            'workflowType': dict(record['workflowType']), 'events': events}
        self.answers = []

    def poll_for_decision_task(self, *args, **kwargs):
        response, self.response = self.response, {}
        return response

    def respond_decision_task_completed(self, task_token, decisions=None, **kwargs):
        self.answers.append(decisions)


def decide(decider, record, events, started):
    stub = OneTask(record, events, started)
    task = decider.poll(stub, 'golden', 'golden-decisions', 'me')
    decider.handle(stub, task)
    decider.flush()  # an answer held back goes now
    return stub.answers


def first_point(record):
    started = decision_points(record['events'])[1][0]
    return [event for event in copy.deepcopy(record['events']) if event['eventId'] <= started]


@pytest.mark.parametrize('driver', ['replay', 'cached'])
def test_the_decider_fails_a_run_whose_history_is_malformed(driver):
    record = next(r for r in RECORDS if r['case'] == 'chain')
    events = first_point(record)
    completed = next(e for e in events if e['eventType'] == 'ActivityTaskCompleted')
    del attributes_of(completed)['scheduledEventId']
    decider = make_decider(driver)
    [[fail]] = decide(decider, record, events, events[-1]['eventId'])
    assert fail['decisionType'] == 'FailWorkflowExecution'
    reason = fail['failWorkflowExecutionDecisionAttributes']['reason']
    assert reason.startswith('flowy cannot read the history of this run: event %d '
                             '(ActivityTaskCompleted): the attribute scheduledEventId is '
                             'missing' % completed['eventId'])
    assert decider.stats['failed'] == 1 and decider.stats['unanswered'] == 0


# -- any part of any event broken: a HistoryError, or a decision --------------------------------


WRONG = [None, 0, -1, 1.5, True, '', 'x', [], ['x'], {}, {'name': 1}]


@st.composite
def broken_histories(draw, records=RECORDS):
    """``(record, events, started)``: a golden history up to a decision point, one part of
    one event broken (deleted, or of another type), its ids never renumbered."""
    record = draw(st.sampled_from(records))
    points = decision_points(record['events'])
    started = draw(st.sampled_from(points))[0]
    events = [e for e in copy.deepcopy(record['events']) if e['eventId'] <= started]
    event = events[draw(st.integers(0, len(events) - 2))]  # the last one names the task
    key = attributes_key(event['eventType'])
    parts = ['eventId', 'eventType', key] + ['%s.%s' % (key, name) for name in event[key]]
    part = draw(st.sampled_from(parts))
    holder, name = (event, part) if '.' not in part else (event[key], part.split('.')[1])
    if type(holder.get(name)) is dict and holder[name] and draw(st.booleans()):
        holder, name = holder[name], draw(st.sampled_from(sorted(holder[name])))
    if draw(st.booleans()):
        del holder[name]
    else:
        holder[name] = draw(st.sampled_from(WRONG))
    return record, events, started


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_histories())
def test_a_broken_history_is_read_or_refused_with_a_history_error(broken):
    _, events, _ = broken
    try:
        read_history(events, 'golden-run')
    except HistoryError as exc:
        assert str(exc)


DECIDER = make_decider('replay')


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_histories())
def test_a_broken_history_is_always_answered(broken):
    record, events, started = broken
    before = dict(DECIDER.stats)
    [decisions] = decide(DECIDER, record, events, started)
    assert DECIDER.stats['unanswered'] == before['unanswered']
    if decisions and decisions[-1]['decisionType'] == 'FailWorkflowExecution':
        assert decisions[-1]['failWorkflowExecutionDecisionAttributes']['reason']
