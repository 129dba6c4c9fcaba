"""Holding a decider's answers back while a run's workers are behind (flowy.swf.holding)."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from swf_events import EventLog

from flowy.swf.backlog import Backlog
from flowy.swf.history import ExecutionHistory
from flowy.swf.holding import HOLDABLE, SHARE, SHORTEST, Holding


def schedule(name='square', task_list=None):
    attributes = {'activityType': {'name': name, 'version': '1'}, 'activityId': 'x-1-0'}
    if task_list is not None:
        attributes['taskList'] = {'name': task_list}
    return {'decisionType': 'ScheduleActivityTask',
            'scheduleActivityTaskDecisionAttributes': attributes}


SCHEDULE = schedule()
MARKER = {'decisionType': 'RecordMarker', 'recordMarkerDecisionAttributes': {'markerName': 'm'}}
TIMER = {'decisionType': 'StartTimer'}
CLOSE = {'decisionType': 'CompleteWorkflowExecution'}
WAIT = 10  # seconds a test waits for the sending thread, at most


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Run:
    """What hold_for reads of an ExecutionHistory: ``queued`` squares wait on 'work'."""

    def __init__(self, queued=0, starts=0, timeout='60'):
        self.backlog = Backlog()
        for number in range(queued):
            self.backlog.scheduled(number + 1, {'activityType': {'name': 'square',
                                                                 'version': '1'},
                                                'taskList': {'name': 'work'}})
        self.backlog.starts = starts
        self.task_start_to_close_timeout = timeout


def holding(longest=1.0):
    clock = Clock()
    return Holding(longest, clock), clock


def second_task(hold, clock, run, decisions=(SCHEDULE,), elapsed=0.5, started=50,
                key=('w', 'r')):
    """hold_for on a run's first task (pace unknown), then on its second, ``elapsed``
    seconds later, with ``started`` activities started in between."""
    first = Run(queued=len(run.backlog))
    assert hold.hold_for(key, first, [SCHEDULE], clock()) == 0  # the first: no pace yet
    clock.now += elapsed
    run.backlog.starts = first.backlog.starts + started
    return hold.hold_for(key, run, list(decisions), clock())


# -- how long ----------------------------------------------------------------------------------

def test_a_share_of_the_time_the_queued_activities_keep_the_workers_busy():
    hold, clock = holding(longest=5)
    # 50 starts in 0.5 s: 100 a second; 40 queued keep the workers busy 0.4 s
    assert 0 < SHARE <= 1
    assert second_task(hold, clock, Run(queued=40)) == pytest.approx(SHARE * 0.4)


def test_at_most_the_longest_hold():
    hold, clock = holding(longest=1)
    assert second_task(hold, clock, Run(queued=1000)) == 1


def test_workers_that_start_nothing_get_the_longest_hold():
    hold, clock = holding(longest=0.7)
    assert second_task(hold, clock, Run(queued=3), started=0) == 0.7


def test_nothing_queued_nothing_held():
    # a chain: its one activity starts as soon as it is scheduled
    hold, clock = holding()
    assert second_task(hold, clock, Run(queued=0)) == 0


@pytest.mark.parametrize('decision', [TIMER, CLOSE, {'decisionType': 'RequestCancelActivityTask'},
                                      {'decisionType': 'CancelTimer'},
                                      {'decisionType': 'StartChildWorkflowExecution'}])
def test_timers_children_cancels_and_closes_go_at_once(decision):
    hold, clock = holding()
    assert decision['decisionType'] not in HOLDABLE
    assert second_task(hold, clock, Run(queued=500), decisions=[SCHEDULE, decision]) == 0


def test_the_wake_up_timer_of_a_rate_limited_answer_may_wait():
    # the calls beyond the rate limit would queue behind those waiting too
    wake_up = {'decisionType': 'StartTimer', 'startTimerDecisionAttributes': {
        'timerId': 'flowy.more.17', 'startToFireTimeout': '0'}}
    hold, clock = holding()
    assert second_task(hold, clock, Run(queued=500), decisions=[SCHEDULE, wake_up]) == 1
    body_timer = {'decisionType': 'StartTimer', 'startTimerDecisionAttributes': {
        'timerId': '@sleep-3', 'startToFireTimeout': '5'}}
    hold, clock = holding()
    assert second_task(hold, clock, Run(queued=500), decisions=[SCHEDULE, body_timer]) == 0


def test_an_answer_with_no_decisions_or_markers_only_may_wait():
    hold, clock = holding()
    assert second_task(hold, clock, Run(queued=500), decisions=[]) == 1
    hold, clock = holding(longest=5)
    assert second_task(hold, clock, Run(queued=40), decisions=[MARKER]) == pytest.approx(
        SHARE * 0.4)


def test_work_for_a_task_list_where_nothing_waits_goes_at_once():
    # the workers of 'gpu' may be idle: what they get must not wait for 'work' to drain
    hold, clock = holding()
    assert second_task(hold, clock, Run(queued=500),
                       decisions=[SCHEDULE, schedule(task_list='gpu')]) == 0
    hold, clock = holding()
    assert second_task(hold, clock, Run(queued=500),
                       decisions=[schedule(task_list='work')]) == 1


def test_the_default_task_list_of_a_type_is_learned_from_its_schedules():
    hold, clock = holding()
    # 'add' was never scheduled: where its default task list is, is not known yet
    assert second_task(hold, clock, Run(queued=500), decisions=[schedule('add')]) == 0
    hold, clock = holding(longest=5)
    run = Run(queued=40)
    run.backlog.scheduled(99, {'activityType': {'name': 'add', 'version': '1'},
                               'taskList': {'name': 'adding'}})
    # one add waits on 'adding': at 2 starts a second, it keeps them busy half a second
    assert second_task(hold, clock, run, decisions=[SCHEDULE, schedule('add')],
                       started=1) == pytest.approx(SHARE * 0.5)


def test_never_more_than_a_quarter_of_the_decision_timeout():
    hold, clock = holding(longest=30)
    assert second_task(hold, clock, Run(queued=5000, timeout='8'), started=0) == 2
    hold, clock = holding(longest=30)
    assert second_task(hold, clock, Run(queued=5000, timeout='NONE'), started=0) == 30


def test_the_time_the_decision_took_counts():
    hold, clock = holding(longest=1)
    key = ('w', 'r')
    assert hold.hold_for(key, Run(queued=900), [SCHEDULE], clock()) == 0
    received = clock.now + 0.5
    clock.now = received + 0.3  # deciding took 0.3 s
    assert hold.hold_for(key, Run(queued=900, starts=50), [SCHEDULE], received) == (
        pytest.approx(0.7))


def test_too_short_a_hold_is_no_hold():
    hold, clock = holding()
    # 10,000 starts a second: 20 queued last 2 ms
    assert second_task(hold, clock, Run(queued=20), started=5000) == 0
    assert SHORTEST > 0.001


def test_batch_wait_zero_never_holds():
    hold, clock = holding(longest=0)
    assert second_task(hold, clock, Run(queued=1000)) == 0


def test_the_pace_mixes_the_latest_measure_with_the_earlier_ones():
    hold, clock = holding(longest=100)
    key = ('w', 'r')
    hold.hold_for(key, Run(queued=100), [SCHEDULE], clock())
    clock.now += 1
    # 10 a second: 100 queued last 10 s
    assert hold.hold_for(key, Run(queued=100, starts=10), [SCHEDULE], clock()) == (
        pytest.approx(SHARE * 10))
    clock.now += 1
    # 30 a second now, 20 mixed: 100 queued last 5 s
    assert hold.hold_for(key, Run(queued=100, starts=40), [SCHEDULE], clock()) == (
        pytest.approx(SHARE * 5))


def test_each_run_has_its_pace_and_a_forgotten_run_starts_over():
    hold, clock = holding()
    a, b = ('w', 'a'), ('w', 'b')
    assert hold.hold_for(a, Run(queued=9), [], clock()) == 0
    assert hold.hold_for(b, Run(queued=9), [], clock()) == 0
    clock.now += 1
    assert hold.hold_for(a, Run(queued=9, starts=1), [], clock()) > 0
    hold.forget(b)
    assert hold.hold_for(b, Run(queued=9, starts=1), [], clock()) == 0


def test_paces_are_kept_for_a_bounded_number_of_runs():
    hold, clock = holding()
    hold.keep = 3
    for number in range(10):
        hold.hold_for(('w', str(number)), Run(queued=1), [], clock())
    assert len(hold._paces) == 3


# -- sending ------------------------------------------------------------------------------------

def test_a_held_answer_is_sent_when_due_from_another_thread():
    hold = Holding(1.0, __import__('time').monotonic)
    sent = threading.Event()
    senders = []

    def send():
        senders.append(threading.current_thread())
        sent.set()

    hold.hold(0.01, send)
    assert hold.held == 1
    assert sent.wait(WAIT)
    assert senders[0] is not threading.current_thread()
    assert senders[0].name == 'flowy-decider-held-answers'


def test_held_answers_go_in_the_order_they_are_due():
    hold = Holding(1.0, __import__('time').monotonic)
    order = []
    done = threading.Event()
    hold.hold(0.05, lambda: (order.append('late'), done.set()))
    hold.hold(0.01, lambda: order.append('early'))
    assert done.wait(WAIT)
    assert order == ['early', 'late']


def test_flush_sends_every_held_answer_now_in_the_calling_thread():
    hold, clock = holding()
    order = []
    for name in ('b', 'a', 'c'):
        hold.hold({'a': 1, 'b': 2, 'c': 3}[name], lambda name=name: order.append(
            (name, threading.current_thread())))
    assert len(hold) == 3
    hold.flush()
    assert [name for name, _ in order] == ['a', 'b', 'c']
    assert all(thread is threading.current_thread() for _, thread in order)
    assert len(hold) == 0


def test_the_sending_thread_ends_when_nothing_is_held_and_comes_back():
    hold = Holding(1.0, __import__('time').monotonic)
    for _ in range(2):
        sent = threading.Event()
        hold.hold(0.01, sent.set)
        assert sent.wait(WAIT)
        thread = hold._sender
        if thread is not None:
            thread.join(WAIT)
        assert hold._sender is None


# -- what the history says: activities queued, starts ---------------------------------------------

def history_of(log):
    execution = ExecutionHistory('w')
    execution.feed(log.events)
    return execution


def test_the_history_counts_activities_waiting_on_their_task_list():
    log = EventLog()
    log.workflow_started()
    completed = log.decision_round()
    ids = [log.activity_scheduled('square-%d-0' % n, completed, position=n) for n in range(4)]
    execution = history_of(log)
    assert (len(execution.backlog), execution.backlog.starts) == (4, 0)
    assert execution.backlog.waiting_on('tasks') == 4
    assert execution.backlog.task_list_of(('square', '1')) == 'tasks'
    assert execution.backlog.task_list_of(('add', '1')) is None
    started = log.activity_started(ids[0])
    log.activity_completed(ids[0], result='0', started=started)
    log.activity_started(ids[1])
    log.activity_timed_out(ids[2], timeout_type='SCHEDULE_TO_START')  # never started
    execution.feed(log.events)
    assert (len(execution.backlog), execution.backlog.starts) == (1, 2)
    assert execution.backlog.waiting_on('tasks') == 1


lifecycles = st.lists(st.sampled_from(['queued', 'started', 'completed', 'never started']),
                      min_size=0, max_size=30)


@settings(max_examples=60, deadline=None)
@given(lifecycles, st.randoms(use_true_random=False))
def test_queued_activities_are_those_scheduled_not_started_nor_ended(ends, random):
    log = EventLog()
    log.workflow_started()
    completed = log.decision_round()
    ids = [log.activity_scheduled('a-%d-0' % n, completed, position=n) for n in range(len(ends))]
    order = list(zip(ids, ends, strict=True))
    random.shuffle(order)
    for scheduled, end in order:
        if end in ('started', 'completed'):
            started = log.activity_started(scheduled)
            if end == 'completed':
                log.activity_completed(scheduled, result='1', started=started)
        elif end == 'never started':
            log.activity_timed_out(scheduled, timeout_type='SCHEDULE_TO_CLOSE')
    execution = history_of(log)
    assert len(execution.backlog) == execution.backlog.waiting_on('tasks') == ends.count('queued')
    assert execution.backlog.starts == ends.count('started') + ends.count('completed')
