"""Timers, markers, now(), signals and cancellations on SWF, on synthetic histories.

The SWF decisions flowy makes for them (flowy.swf.effects), how ExecutionHistory reads
their events back (flowy.swf.effect_events), and whole runs on the simulated SWF of
swf_events with both drivers, which must send the same responses.
"""

import json

import pytest
from swf_events import SimulatedSWF, check_decision, result_of, run_on_swf
from test_swf_history import fed, started_log

import flowy
from flowy import TaskCancelled, first, wait
from flowy.config import ACTIVITY, WORKFLOW, TaskSpec, WorkflowConfig
from flowy.decision import CancelCall, RecordMarker, StartTimer
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.history import CANCELLED, COMPLETED, RUNNING
from flowy.serialization import dumps, loads
from flowy.swf.effects import CANCELLED_MARKER, cancel_run, read_marker, translate_effects
from flowy.swf.history import ExecutionHistory
from flowy.swf.packer import Packer, to_swf
from flowy.swf.payload import InMemoryPayloadStore, PayloadTooLarge, is_reference
from flowy.swf.types import TaskType

TYPES = {'square': TaskType('activity', 'square', '1'),
         'blocker': TaskType('activity', 'blocker', '1'),
         'sub': TaskType(WORKFLOW, 'Sub', '1')}
DRIVERS = pytest.mark.parametrize('driver', ['replay', 'cached'])


def square(n):
    return n * n


def blocker():
    return 'done'


def sub():
    return 'sub done'


def config_of(factory):
    config = WorkflowConfig(factory)
    config._add_task(TaskSpec('square', ACTIVITY, None))
    config._add_task(TaskSpec('blocker', ACTIVITY, None))
    config._add_task(TaskSpec('sub', WORKFLOW, None))
    return config


def swf_attributes(decision):
    kind = decision['decisionType']
    return decision[kind[0].lower() + kind[1:] + 'DecisionAttributes']


def run(factory, driver, *args, **sim_options):
    config = config_of(factory)
    sim = SimulatedSWF(config._encode_input(list(args), {}),
                       activities={'square': square, 'blocker': blocker},
                       children={'Sub': sub}, **sim_options)
    execution = run_on_swf(config, TYPES, sim,
                           driver=CachedDriver() if driver == 'cached' else replay)
    return sim, execution


def kinds(sim):
    return [event['eventType'] for event in sim.log.events]


# -- the decisions -----------------------------------------------------------------------------

def test_a_timer_is_start_timer_in_whole_seconds_with_its_position():
    log, _ = started_log()
    execution = fed(log)
    decisions, dropped = translate_effects([StartTimer('@sleep-0', 4, 1.2)], execution, {})
    assert dropped == set()
    assert decisions == [{'decisionType': 'StartTimer', 'startTimerDecisionAttributes': {
        'timerId': '@sleep-0', 'startToFireTimeout': '2', 'control': '{"position":4}'}}]
    check_decision(decisions[0])


def test_a_marker_carries_its_key_position_and_value():
    log, _ = started_log()
    decisions, _ = translate_effects([RecordMarker('@marker-0', 2, 'step', '{"a":1}')],
                                     fed(log), {})
    attributes = swf_attributes(decisions[0])
    assert attributes['markerName'] == 'step'
    assert read_marker(attributes['details']) == ('@marker-0', 2, '{"a":1}')
    check_decision(decisions[0])


def test_a_marker_too_large_goes_to_the_store_or_fails():
    log, _ = started_log()
    big = json.dumps('x' * 40000)
    with pytest.raises(PayloadTooLarge):
        translate_effects([RecordMarker('@marker-0', 0, 'big', big)], fed(log), {})
    store = InMemoryPayloadStore()
    decisions, _ = translate_effects([RecordMarker('@marker-0', 0, 'big', big)], fed(log), {},
                                     store=store)
    _, _, value = read_marker(swf_attributes(decisions[0])['details'])
    assert is_reference(value)
    # and the history reads it back through the store
    log.marker_recorded('big', swf_attributes(decisions[0])['details'], log.last_id)
    execution = ExecutionHistory('order-7', store=store)
    execution.feed(log.events)
    assert execution.history.get('@marker-0').data == big


def cancel_log():
    """A run with an activity, a child and a body timer running."""
    log, completed = started_log()
    log.activity_scheduled('blocker-0-0', completed, position=0, name='blocker')
    initiated = log.child_initiated('sub-0-0', completed, 'order-7.sub-0-0', position=1)
    log.child_started(initiated)
    log.timer_started('@sleep-0', completed, '3600', control='{"position":2}')
    return log


def test_cancel_requests_by_kind():
    execution = fed(cancel_log())
    assert execution.history.get('@sleep-0').position == 2
    commands = [CancelCall('blocker-0', 3), CancelCall('sub-0', 4), CancelCall('@sleep-0', 5)]
    decisions, dropped = translate_effects(commands, execution, {})
    assert dropped == set()
    assert [(d['decisionType'], swf_attributes(d)) for d in decisions] == [
        ('RequestCancelActivityTask', {'activityId': 'blocker-0-0'}),
        ('RequestCancelExternalWorkflowExecution', {
            'workflowId': 'order-7.sub-0-0', 'runId': 'run-6', 'control': '{"key":"sub-0-0"}'}),
        ('CancelTimer', {'timerId': '@sleep-0'})]
    for decision in decisions:
        check_decision(decision)


def test_a_call_not_started_is_cancelled_by_a_marker_and_never_sent():
    log, _ = started_log()
    execution = fed(log)
    decisions, dropped = translate_effects([CancelCall('square-0', 1)], execution,
                                           {'square-0-0': object()})
    assert dropped == {'square-0-0'}
    assert [d['decisionType'] for d in decisions] == ['RecordMarker']
    assert swf_attributes(decisions[0])['markerName'] == CANCELLED_MARKER


def test_cancelling_what_finished_sends_nothing():
    log = cancel_log()
    log.timer_fired('@sleep-0', 7)
    assert translate_effects([CancelCall('@sleep-0', 5)], fed(log), {}) == ([], set())


def test_a_cancel_wakes_the_decider_up():
    log = cancel_log()
    execution = fed(log)
    from flowy.decision import Decision

    decisions = to_swf(Decision([CancelCall('blocker-0', 3)]), TYPES, Packer(execution))
    assert [d['decisionType'] for d in decisions] == ['RequestCancelActivityTask', 'StartTimer']
    assert swf_attributes(decisions[1])['timerId'].startswith('flowy.more.')
    # a marker of the body needs no wake-up: nothing waits for it
    decisions = to_swf(Decision([RecordMarker('@marker-0', 3, 'm', 'null')]), TYPES,
                       Packer(execution))
    assert [d['decisionType'] for d in decisions] == ['RecordMarker']


def test_values_recorded_by_the_last_activation_go_before_the_close():
    from flowy.decision import Decision, Finish

    log, _ = started_log()
    decision = Decision([RecordMarker('@now-0', 0, 'now', '12.5')], Finish('1'))
    decisions = to_swf(decision, TYPES, Packer(fed(log)))
    assert [d['decisionType'] for d in decisions] == ['RecordMarker',
                                                      'CompleteWorkflowExecution']


def test_a_whole_run_cancel_stops_what_runs_then_cancels():
    decisions = cancel_run(fed(cancel_log()), 'asked')
    assert [d['decisionType'] for d in decisions] == [
        'RequestCancelActivityTask', 'RequestCancelExternalWorkflowExecution', 'CancelTimer',
        'CancelWorkflowExecution']
    assert swf_attributes(decisions[-1]) == {'details': 'asked'}


# -- reading the events back -------------------------------------------------------------------

def test_cancel_requests_are_recorded_when_swf_accepts_them():
    log = cancel_log()
    completed = log.decision_round()
    log.activity_cancel_requested('blocker-0-0', completed)
    log.add('RequestCancelExternalWorkflowExecutionInitiated', workflowId='order-7.sub-0-0',
            control='{"key":"sub-0-0"}', decisionTaskCompletedEventId=completed)
    log.timer_canceled('@sleep-0', 7, completed)
    log.activity_completed(5, result='"late"')  # what they do afterwards is ignored
    log.child_completed(6, result='"late"')
    log.add('RequestCancelActivityTaskFailed', activityId='x-0-0', cause='ACTIVITY_ID_UNKNOWN',
            decisionTaskCompletedEventId=completed)
    log.add('CancelTimerFailed', timerId='@sleep-9', cause='TIMER_ID_UNKNOWN',
            decisionTaskCompletedEventId=completed)
    history = fed(log).history
    assert [(key, history.get(key).state, history.get(key).reason) for key in
            ('blocker-0-0', 'sub-0-0', '@sleep-0')] == [
        ('blocker-0-0', CANCELLED, 'blocker-0 was cancelled'),
        ('sub-0-0', CANCELLED, 'sub-0 was cancelled'),
        ('@sleep-0', CANCELLED, '@sleep-0 was cancelled')]


def test_timers_markers_and_signals_read_back():
    log, completed = started_log()
    started = log.timer_started('@sleep-0', completed, control='{"position":0}')
    log.marker_recorded('now', json.dumps({'key': '@now-0', 'position': 1, 'value': '12.5'}),
                        completed)
    log.marker_recorded(CANCELLED_MARKER, json.dumps({'key': 'square-0-0', 'position': 2}),
                        completed)
    log.marker_recorded('someone-else', 'not json', completed)
    log.signaled('go', input='[1]')
    log.signaled('go')
    log.timer_fired('@sleep-0', started)
    execution = fed(log)
    history = execution.history
    assert history.get('@sleep-0').state == COMPLETED and history.get('@sleep-0').data == 'null'
    assert history.get('@now-0').data == '12.5' and history.get('@now-0').position == 1
    assert history.get('square-0-0').state == CANCELLED
    assert history.get('@signal-go-0').data == '[1]'
    assert history.get('@signal-go-1').data == 'null'
    assert execution.markers == [('now', '@now-0')]


def test_now_is_the_time_of_the_decision_task():
    log, _ = started_log()
    execution = fed(log)
    started = next(event for event in log.events if event['eventType'] == 'DecisionTaskStarted')
    assert execution.history.now == started['eventTimestamp'].timestamp()


def test_a_timer_not_started_fails_the_sleep():
    log, completed = started_log()
    log.start_timer_failed('@sleep-0', 'OPEN_TIMERS_LIMIT_EXCEEDED', completed)
    outcome = fed(log).history.get('@sleep-0')
    assert outcome.state == 'failed' and 'OPEN_TIMERS_LIMIT_EXCEEDED' in outcome.reason


def test_a_running_timer_and_a_repeated_start():
    log, completed = started_log()
    log.timer_started('@sleep-0', completed, control='{"position":0}')
    log.start_timer_failed('@sleep-0', 'TIMER_ID_ALREADY_IN_USE', completed)
    assert fed(log).history.get('@sleep-0').state == RUNNING


# -- whole runs on the simulated SWF, both drivers ---------------------------------------------

class Approval:
    def __init__(self, square, blocker, sub):
        pass

    def __call__(self, deadline):
        answer = wait(first(flowy.wait_signal('approve'), flowy.sleep(deadline)))
        return 'expired' if answer is None else answer


class Everything:
    """Markers, now(), a cancelled timer, activity, child and unstarted call."""

    def __init__(self, square, blocker, sub):
        self.square = square
        self.blocker = blocker
        self.sub = sub

    def __call__(self):
        flowy.marker('begin', {'n': 1})
        then = flowy.now().timestamp()
        timer, running, child = flowy.sleep(60), self.blocker(), self.sub()
        unstarted = self.square(running)
        wait(self.square(2))
        for result in (timer, running, child, unstarted):
            flowy.cancel(result)
        outcomes = []
        for result in (timer, running, child, unstarted):
            try:
                outcomes.append(wait(result))
            except TaskCancelled as exc:
                outcomes.append(str(exc))
        return [then, outcomes, flowy.context().workflow]


@DRIVERS
def test_an_approval_on_the_simulated_swf(driver):
    sim, _ = run(Approval, driver, 60, signals=[('approve', dumps('yes'))])
    assert result_of(sim) == 'yes'
    sim, _ = run(Approval, driver, 60)
    assert result_of(sim) == 'expired'


def test_both_drivers_send_the_same_responses():
    sims = [run(Everything, driver, hold={'@sleep-0', 'blocker-0-0', 'order-7.sub-0-0'})[0]
            for driver in ('replay', 'cached')]
    assert sims[0].responses == sims[1].responses
    then, outcomes, name = result_of(sims[0])
    assert outcomes == ['@sleep-0 was cancelled', 'blocker-0 was cancelled',
                        'sub-0 was cancelled', 'square-0 was cancelled']
    assert name == 'Everything'
    recorded = [json.loads(d['recordMarkerDecisionAttributes']['details'])
                for response in sims[0].responses for d in response
                if d['decisionType'] == 'RecordMarker']
    assert [item['key'] for item in recorded] == ['@marker-0', '@now-0', 'square-0-0']
    assert loads(recorded[1]['value']) == then
    assert 'ActivityTaskCancelRequested' in kinds(sims[0])
    assert 'RequestCancelExternalWorkflowExecutionInitiated' in kinds(sims[0])
    assert 'TimerCanceled' in kinds(sims[0])


@DRIVERS
def test_a_child_cancelled_by_swf_is_task_cancelled(driver):
    class Parent:
        def __init__(self, square, blocker, sub):
            self.sub = sub

        def __call__(self):
            try:
                return wait(self.sub())
            except TaskCancelled as exc:
                return 'cancelled: %s' % exc

    config = config_of(Parent)
    sim = SimulatedSWF(config._encode_input([], {}), children={'Sub': sub})
    execution = ExecutionHistory(sim.workflow_id)
    execution.feed(sim.poll())
    driving = CachedDriver() if driver == 'cached' else replay
    sim.respond(to_swf(driving(config, execution.input, execution.history), TYPES,
                       Packer(execution)))
    initiated = next(iter(sim.open_children))
    sim.open_children.clear()
    sim.log.child_canceled(initiated, details='operator')
    sim._scheduled = sim.log.decision_scheduled()
    execution.feed(sim.poll())
    decision = driving(config, execution.input, execution.history)
    assert loads(decision.outcome.result) == (
        'cancelled: the child workflow was cancelled: operator')



class CancelRetry:
    """Cancels a call whose first attempt failed, while its retry waits for its timer."""

    def __init__(self, square, blocker, sub):
        self.square = square
        self.blocker = blocker

    def __call__(self):
        result = self.square(1)
        wait(self.blocker())
        flowy.cancel(result)
        try:
            return wait(result)
        except TaskCancelled as exc:
            return str(exc)


def test_a_call_waiting_for_its_retry_timer_is_cancelled_on_both_drivers():
    sims = []
    for driver in ('replay', 'cached'):
        config = config_of(CancelRetry)
        config.specs['square'].retry = (0, 5)
        config.specs['square'].retry_failures = True
        sim = SimulatedSWF(config._encode_input([], {}),
                           activities={'square': square, 'blocker': blocker},
                           fail={'square-0-0': 'boom'}, hold={'square-0-1.retry'})
        run_on_swf(config, TYPES, sim, driver=CachedDriver() if driver == 'cached' else replay)
        sims.append(sim)
    assert sims[0].responses == sims[1].responses
    assert result_of(sims[0]) == 'square-0 was cancelled'
    assert 'ActivityTaskScheduled' in kinds(sims[0])
    scheduled = [event['activityTaskScheduledEventAttributes']['activityId']
                 for event in sims[0].log.events if event['eventType'] == 'ActivityTaskScheduled']
    assert 'square-0-1' not in scheduled
