"""sleep, now, wait_signal, marker, cancel and context: in plain Python and on both drivers.

Workflows run on the :class:`~engines.SimulatedEngine` (first-in first-out unless a test
builds the history by hand) under the replay and the cached driver; where a test looks
at decisions, both drivers must make the same ones.
"""

import datetime
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from engines import SimulatedEngine

import flowy
from flowy.decision import CancelCall, Fail, Finish, RecordMarker, ScheduleCall, StartTimer
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.history import CANCELLED, COMPLETED, History

DRIVERS = [pytest.param(lambda: replay, id='replay'), pytest.param(CachedDriver, id='cached')]

CLOCK = 1_000_000_000.0  # the SimulatedEngine's clock before its first decision


def inc(x):
    return x + 1


def boom(x):
    raise ValueError('boom on %r' % (x,))


def config(factory):
    w = flowy.LocalWorkflow(factory, executor=ThreadPoolExecutor)
    w.conf_activity('inc', inc)
    w.conf_activity('boom', boom, retry=(0, 5), retry_failures=True)
    return w


def simulate(factory, *args, driver=replay, **engine):
    """Run ``factory`` on the SimulatedEngine: (('result', value) or ('error', exc),
    decisions, histories)."""
    sim = SimulatedEngine(config(factory), driver=driver, **engine)
    try:
        outcome = ('result', sim.run(*args))
    except flowy.TaskError as exc:
        outcome = ('error', exc)
    return outcome, sim.decisions, sim.histories


def on_both(factory, *args, **engine):
    """Run ``factory`` under both drivers; they must decide alike.  The replay run."""
    runs = [simulate(factory, *args, driver=driver, **engine)
            for driver in (replay, CachedDriver())]
    (outcome, decisions, _), (cached_outcome, cached_decisions, _) = runs
    assert cached_decisions == decisions, 'the drivers decide differently'
    assert _shown(cached_outcome) == _shown(outcome)
    return runs[0]


def _shown(outcome):
    kind, value = outcome
    return (kind, str(value)) if kind == 'error' else outcome


def commands(decisions, kind):
    return [call for decision in decisions for call in decision.calls if type(call) is kind]


def decide_by_hand(make_driver, factory, steps, *args, history=None):
    """Decide ``factory``'s run once per step; ``step(history, decision)`` records what
    the engine would between two decisions.  Return the decisions."""
    w = config(factory)
    driver, history = make_driver(), history or History()
    data = w._encode_input(args, {})
    decisions = [driver(w, data, history)]
    for step in steps:
        step(history, decisions[-1])
        decisions.append(driver(w, data, history))
    return decisions


def schedule_all(history, decision):
    for call in decision.calls:
        if type(call) is not CancelCall:
            history.scheduled(call.key, call.position)


# -- outside a workflow: plain Python --------------------------------------------------


def test_sleep_outside_an_engine_sleeps_and_returns_none():
    started = time.monotonic()
    assert flowy.sleep(0.05) is None
    assert time.monotonic() - started >= 0.05


def test_now_outside_an_engine_is_the_clock_as_an_aware_utc_datetime():
    before = datetime.datetime.now(datetime.timezone.utc)
    value = flowy.now()
    after = datetime.datetime.now(datetime.timezone.utc)
    assert type(value) is datetime.datetime
    assert value.utcoffset() == datetime.timedelta(0)
    assert before <= value <= after


def test_marker_and_cancel_outside_an_engine_do_nothing():
    assert flowy.marker('step', {'done': 1}) is None
    assert flowy.cancel(5) is None


def test_wait_signal_outside_an_engine_is_a_usage_error():
    with pytest.raises(flowy.UsageError, match=r"wait_signal\('go'\) can only be used in a "
                                               r'workflow'):
        flowy.wait_signal('go')


def test_context_outside_a_body_or_an_activity_is_a_usage_error():
    with pytest.raises(flowy.UsageError, match='only known inside a workflow body'):
        flowy.context()


@pytest.mark.parametrize('seconds, error', [
    (-1, ValueError), (math.nan, ValueError), (math.inf, ValueError), (-math.inf, ValueError),
    ('x', TypeError), (True, TypeError), (None, TypeError), ([1], TypeError)])
def test_sleep_takes_a_finite_number_of_seconds(seconds, error):
    with pytest.raises(error, match=r'sleep\(\) takes'):
        flowy.sleep(seconds)


@pytest.mark.parametrize('name, error, match', [
    ('', ValueError, '1 to 256 characters'),
    ('x' * 257, ValueError, '1 to 256 characters'),
    ('a\nb', ValueError, 'control characters'),
    ('a\x00', ValueError, 'control characters'),
    ('a\x85', ValueError, 'control characters'),
    (5, TypeError, 'must be a string'),
    (None, TypeError, 'must be a string'),
    (b'go', TypeError, 'must be a string')])
def test_bad_signal_and_marker_names_are_refused(name, error, match):
    with pytest.raises(error, match=match):
        flowy.wait_signal(name)
    with pytest.raises(error, match=match):
        flowy.marker(name)


def test_a_name_of_256_characters_is_a_name():
    assert flowy.marker('x' * 256) is None
    with pytest.raises(flowy.UsageError):  # a valid name: only the engine is missing
        flowy.wait_signal('é' * 256)


# -- timers --------------------------------------------------------------------------


class Sleeps:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self, timer_first):
        if timer_first:
            return [flowy.first(flowy.sleep(5), self.inc(1)), flowy.wait(flowy.sleep(0))]
        return [flowy.first(self.inc(1), flowy.sleep(5)), flowy.wait(flowy.sleep(0))]


@pytest.mark.parametrize('timer_first, expected', [(True, None), (False, 2)])
def test_a_timer_is_a_result_that_finishes_with_none_and_races_a_call(timer_first, expected):
    outcome, decisions, histories = on_both(Sleeps, timer_first)
    assert outcome == ('result', [expected, None])
    timers = commands(decisions, StartTimer)
    assert [(t.key, t.seconds) for t in timers] == [('@sleep-0', 5.0), ('@sleep-1', 0.0)]
    assert [t.position for t in timers] == ([0, 2] if timer_first else [1, 2])
    assert histories[0].get('@sleep-0').state is COMPLETED


class TimerAndCall:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        return flowy.first(self.inc(1), flowy.sleep(3))


@pytest.mark.parametrize('make_driver', DRIVERS)
@pytest.mark.parametrize('timer_first', [True, False])
def test_a_timer_finishing_in_the_same_batch_as_a_call_is_placed_by_finish_order(
        make_driver, timer_first):
    def both_finish(history, decision):
        schedule_all(history, decision)
        if timer_first:
            history.completed('@sleep-0', 'null')
        history.completed('inc-0-0', '2')
        if not timer_first:
            history.completed('@sleep-0', 'null')

    decisions = decide_by_hand(make_driver, TimerAndCall, [both_finish])
    assert [type(call) for call in decisions[0].calls] == [ScheduleCall, StartTimer]
    expected = 'null' if timer_first else '2'
    assert decisions[1].outcome == Finish(expected)


class WaitsForATimer:
    def __init__(self, inc, boom):
        pass

    def __call__(self):
        try:
            return flowy.wait(flowy.sleep(3))
        except flowy.TaskError as exc:
            return 'failed: %s' % exc


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_a_timer_the_engine_could_not_start_fails_its_result(make_driver):
    # SWF records StartTimerFailed as a failure of the timer: replay waited forever.
    def fails(history, decision):
        schedule_all(history, decision)
        history.failed('@sleep-0', 'TIMER_ID_ALREADY_IN_USE')

    decisions = decide_by_hand(make_driver, WaitsForATimer, [fails])
    assert decisions[1].outcome == Finish('"failed: @sleep-0 failed: TIMER_ID_ALREADY_IN_USE"')


# -- now() ----------------------------------------------------------------------------


class Clock:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        first = flowy.now()
        assert first.utcoffset() == datetime.timedelta(0)
        flowy.wait(self.inc(1))
        later = [flowy.now().timestamp(), flowy.now().isoformat()]
        flowy.wait(self.inc(2))
        return [first.timestamp()] + later


def test_now_in_a_workflow_is_the_time_of_the_decision_that_first_reached_it():
    outcome, decisions, histories = on_both(Clock)
    # decision 1 at CLOCK + 1 made the first now(); decision 2, at CLOCK + 2, the others:
    # its replay of the body, and that of decision 3, still get CLOCK + 1 for the first.
    assert outcome == ('result', [CLOCK + 1, CLOCK + 2, '2001-09-09T01:46:42+00:00'])
    markers = commands(decisions, RecordMarker)
    assert [(m.key, m.position, m.name, m.details) for m in markers] == [
        ('@now-0', 0, 'now', repr(CLOCK + 1)), ('@now-1', 2, 'now', repr(CLOCK + 2)),
        ('@now-2', 3, 'now', repr(CLOCK + 2))]
    assert len(decisions) == 3
    assert histories[0].get('@now-0').data == repr(CLOCK + 1)


class ClockAfterACall:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        waited = self.inc(1)
        stamp = flowy.now().timestamp()
        return [flowy.wait(waited), stamp]


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_now_held_back_by_the_call_limit_is_the_time_of_the_decision_recording_it(
        make_driver):
    w = config(ClockAfterACall)
    driver, history = make_driver(), History()
    data = w._encode_input((), {})
    history.now = 100.0
    first = driver(w, data, history, limit=1)
    assert first.more and [type(call) for call in first.calls] == [ScheduleCall]
    schedule_all(history, first)
    history.now = 200.0
    second = driver(w, data, history, limit=1)
    assert second.calls == [RecordMarker('@now-0', 1, 'now', '200.0')]
    history.scheduled('@now-0', 1)
    history.completed('@now-0', '200.0')
    history.completed('inc-0-0', '2')
    history.now = 300.0
    assert driver(w, data, history, limit=1).outcome == Finish('[2,200.0]')


# -- markers ---------------------------------------------------------------------------


class Marks:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        returned = flowy.marker('start', {'items': [1, 2]})
        value = flowy.wait(self.inc(1))
        flowy.marker('done')
        return [returned, value, flowy.wait(self.inc(value))]


def test_a_marker_is_recorded_with_its_name_and_details_in_call_order():
    outcome, decisions, histories = on_both(Marks)
    assert outcome == ('result', [None, 2, 3])
    markers = commands(decisions, RecordMarker)
    assert markers == [RecordMarker('@marker-0', 0, 'start', '{"items":[1,2]}'),
                       RecordMarker('@marker-1', 2, 'done', 'null')]
    history = histories[0]
    assert history.get('@marker-0').data == '{"items":[1,2]}'
    assert history.call_at(0) == '@marker-0' and history.call_at(1) == 'inc-0'


class Unserializable:
    def __init__(self, inc, boom):
        pass

    def __call__(self, catch):
        try:
            flowy.marker('audit', object())
        except TypeError as exc:
            if not catch:
                raise
            return str(exc)
        return 'recorded'


def test_a_marker_whose_details_cannot_be_serialized_is_a_type_error_naming_it():
    outcome, decisions, _ = on_both(Unserializable, True)
    assert outcome[0] == 'result'
    assert outcome[1].startswith("cannot record the details of marker 'audit': ")
    assert commands(decisions, RecordMarker) == []
    outcome, _, _ = on_both(Unserializable, False)
    assert outcome[0] == 'error'
    assert "cannot record the details of marker 'audit'" in str(outcome[1])


# -- signals ---------------------------------------------------------------------------


class Listens:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self, names):
        waits = [flowy.wait_signal(name) for name in names]
        return [flowy.wait(w) for w in waits]


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_signals_that_arrived_before_the_wait_are_kept_in_arrival_order(make_driver):
    history = History()
    history.signalled('go', '"first"')
    history.signalled('other', '"not this"')
    history.signalled('go', '"second"')
    [decision] = decide_by_hand(make_driver, Listens, [], ['go', 'go'], history=history)
    assert decision.outcome == Finish('["first","second"]')


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_the_first_wait_gets_the_first_signal_to_arrive(make_driver):
    def arrives(value):
        def step(history, decision):
            assert decision.outcome is None and decision.calls == []
            history.signalled('go', value)
        return step

    decisions = decide_by_hand(make_driver, Listens, [arrives('1'), arrives('2')],
                               ['go', 'go'])
    assert decisions[1].outcome is None  # the second wait has no signal yet
    assert decisions[2].outcome == Finish('[1,2]')


class WaitsOrGivesUp:
    def __init__(self, inc, boom):
        pass

    def __call__(self):
        return flowy.first(flowy.wait_signal('approve'), flowy.sleep(60))


def test_a_signal_wait_raced_with_a_timer_gives_up_when_the_timer_fires():
    outcome, _, _ = on_both(WaitsOrGivesUp)
    assert outcome == ('result', None)
    outcome, _, _ = on_both(WaitsOrGivesUp, signals=[('approve', 'yes')])
    assert outcome == ('result', 'yes')


class RestartsOnASignal:
    def __init__(self, inc, boom):
        pass

    def __call__(self, runs):
        value = flowy.wait(flowy.wait_signal('go'))
        if runs:
            return flowy.restart(runs - 1)
        return value


def test_a_restarted_run_counts_its_signals_from_the_first():
    outcome, _, histories = on_both(RestartsOnASignal, 2, signals=[('go', n) for n in range(3)])
    assert outcome == ('result', 2)
    assert [h.signals('go') for h in histories] == [1, 1, 1]


# -- cancel ------------------------------------------------------------------------------


class CancelsACall:
    def __init__(self, inc, boom):
        self.inc, self.boom = inc, boom

    def __call__(self, catch):
        running = self.inc(1)
        flowy.cancel(running)
        if not catch:
            return flowy.wait(running)
        try:
            flowy.wait(running)
        except flowy.TaskCancelled as exc:
            return [type(exc).__name__, exc.key, str(exc)]
        return 'not cancelled'


def test_a_cancelled_pending_call_raises_task_cancelled_with_its_key_and_reason():
    outcome, decisions, histories = on_both(CancelsACall, True)
    assert outcome == ('result', ['TaskCancelled', 'inc-0-0', 'inc-0 was cancelled'])
    assert decisions[0].calls[1] == CancelCall('inc-0', 1)
    assert histories[0].get('inc-0-0').state is CANCELLED


def test_a_cancelled_call_left_unhandled_fails_the_run_with_task_cancelled():
    outcome, _, _ = on_both(CancelsACall, False)
    assert outcome[0] == 'error' and str(outcome[1]) == 'inc-0 was cancelled'
    assert type(outcome[1].__cause__) is flowy.TaskCancelled
    assert isinstance(outcome[1].__cause__, flowy.TaskError)


class CancelsWhatFinished:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        done = self.inc(1)
        flowy.wait(done)
        flowy.cancel(done)
        flowy.cancel(7)
        flowy.cancel([done])
        return [done, self.inc(done)]


def test_cancelling_a_finished_result_or_a_plain_value_does_nothing():
    outcome, decisions, _ = on_both(CancelsWhatFinished)
    assert outcome == ('result', [2, 3])
    assert commands(decisions, CancelCall) == []
    # cancel() of the finished result took a position, as it would have pending
    assert [call.position for call in commands(decisions, ScheduleCall)] == [0, 2]


class CancelsATimer:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        timer = flowy.sleep(10)
        flowy.cancel(timer)
        try:
            flowy.wait(timer)
        except flowy.TaskCancelled as exc:
            return [exc.key, str(exc), flowy.wait(self.inc(1))]
        return 'fired'


def test_a_cancelled_timer_raises_task_cancelled():
    outcome, decisions, _ = on_both(CancelsATimer)
    assert outcome == ('result', ['@sleep-0', '@sleep-0 was cancelled', 2])
    assert decisions[0].calls == [StartTimer('@sleep-0', 0, 10.0), CancelCall('@sleep-0', 1)]


class CancelsAWaitingCall:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        argument = self.inc(1)
        waiting = self.inc(argument)  # not started until its argument is known
        flowy.cancel(waiting)
        try:
            flowy.wait(waiting)
        except flowy.TaskCancelled:
            return ['cancelled', flowy.wait(argument)]
        return 'started'


def test_a_cancelled_call_waiting_for_its_arguments_never_starts():
    outcome, decisions, _ = on_both(CancelsAWaitingCall)
    assert outcome == ('result', ['cancelled', 2])
    assert [call.key for call in commands(decisions, ScheduleCall)] == ['inc-0-0']
    assert commands(decisions, CancelCall) == [CancelCall('inc-1', 2)]


@pytest.mark.parametrize('make_driver', DRIVERS)
@pytest.mark.parametrize('argument_outcome', ['completed', 'failed'])
def test_an_argument_finishing_before_the_engine_records_the_cancel_starts_nothing(
        make_driver, argument_outcome):
    # A real engine may record the argument's outcome while the decision that cancels
    # the waiting call is made: the cancellation follows it in the history.
    def race(history, decision):
        assert decision.calls == [ScheduleCall('inc-0-0', 'inc', 0, 0, 0, '[[1],{}]'),
                                  CancelCall('inc-1', 2)]
        history.scheduled('inc-0-0', 0)
        if argument_outcome == 'completed':
            history.completed('inc-0-0', '2')
        else:
            history.failed('inc-0-0', 'lost')
        history.cancelled('inc-1-0')

    decisions = decide_by_hand(make_driver, CancelsAWaitingCall, [race])
    if argument_outcome == 'completed':
        assert decisions[1].outcome == Finish('["cancelled",2]')
    else:
        assert type(decisions[1].outcome) is Fail
        assert decisions[1].outcome.reason == 'inc-0-0 failed: lost'


class CancelsARetriedCall:
    def __init__(self, inc, boom):
        self.inc, self.boom = inc, boom

    def __call__(self):
        retried = self.boom(3)  # fails; retried once
        flowy.wait(self.inc(1))  # finishes after the first attempt failed
        flowy.cancel(retried)
        try:
            return flowy.wait(retried)
        except flowy.TaskCancelled as exc:
            return exc.key


def test_cancelling_a_call_between_its_attempts_cancels_the_next_attempt():
    outcome, decisions, histories = on_both(CancelsARetriedCall)
    assert outcome == ('result', 'boom-0-1')
    keys = [call.key for call in commands(decisions, ScheduleCall)]
    assert keys == ['boom-0-0', 'inc-0-0', 'boom-0-1']
    assert commands(decisions, CancelCall) == [CancelCall('boom-0', 2)]
    assert histories[0].get('boom-0-1').state is CANCELLED


class CancelsAtTheLimit:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        soon = self.inc(1)
        flowy.cancel(soon)
        return [flowy.wait(flowy.sleep(1)), soon]


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_a_cancel_held_back_by_the_call_limit_is_dropped_if_the_call_finished_meanwhile(
        make_driver):
    w = config(CancelsAtTheLimit)
    driver, history = make_driver(), History()
    data = w._encode_input((), {})
    first = driver(w, data, history, limit=1)
    assert first.more and first.calls == [ScheduleCall('inc-0-0', 'inc', 0, 0, 0, '[[1],{}]')]
    schedule_all(history, first)
    history.completed('inc-0-0', '2')
    second = driver(w, data, history, limit=1)
    assert second.calls == [StartTimer('@sleep-0', 2, 1.0)]  # nothing to cancel any more
    schedule_all(history, second)
    history.completed('@sleep-0', 'null')
    assert driver(w, data, history, limit=1).outcome == Finish('[null,2]')


class CancelsWhatItCannot:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self, what, catch):
        if what == 'first':
            target = flowy.first(self.inc(1), self.inc(2))
        else:
            target = flowy.wait_signal('go')
        try:
            flowy.cancel(target)
        except flowy.UsageError:
            if not catch:
                raise
        return flowy.wait(self.inc(3))


@pytest.mark.parametrize('catch', [False, True])
@pytest.mark.parametrize('what, match', [
    ('first', r'cancel\(\) takes the result of a task call, a child workflow or sleep\(\); '
              r'this one combines other results'),
    ('signal', r'the wait for a signal \(@signal-go-0\) cannot be cancelled: to give up '
               r'waiting, race it with a timer')])
def test_cancelling_a_combined_result_or_a_signal_wait_is_a_usage_error(what, match, catch):
    # A mistake that depends on a result being pending: it fails the run even if the
    # body catches it, as a later replay would find the result finished.
    outcome, decisions, _ = on_both(CancelsWhatItCannot, what, catch)
    assert outcome[0] == 'error'
    assert isinstance(outcome[1].__cause__, flowy.UsageError)
    assert re.match(match, str(outcome[1]))
    assert len(decisions) == 1 and commands(decisions, CancelCall) == []


# -- determinism ---------------------------------------------------------------------------


class MovesATimer:
    """Decides with its first activation's body, and replays with another."""

    activations = 0
    bodies = ()

    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        MovesATimer.activations += 1
        body = self.bodies[0 if MovesATimer.activations == 1 else 1]
        return [flowy.wait(result) for result in body(self)]


def _sleep(self):
    return [flowy.sleep(1)]


def _call(self):
    return [self.inc(1)]


def _call_then_sleep(self):
    return [self.inc(1), flowy.sleep(1)]


def _sleep_then_call(self):
    return [flowy.sleep(1), self.inc(1)]


@pytest.mark.parametrize('make_driver', DRIVERS)
@pytest.mark.parametrize('recorded, replayed, names', [
    (_call, _sleep, ('task call #0 is @sleep-0', 'recorded inc-0 there')),
    (_sleep, _call, ('task call #0 is inc-0', 'recorded @sleep-0 there')),
    (_call_then_sleep, _sleep_then_call, ('the call @sleep-0 was made as task call #0',
                                          'recorded it as call #1'))])
def test_a_body_that_moves_a_timer_is_non_deterministic(make_driver, recorded, replayed,
                                                        names):
    MovesATimer.activations, MovesATimer.bodies = 0, (recorded, replayed)
    w = config(MovesATimer)
    driver, history = make_driver(), History()
    data = w._encode_input((), {})
    schedule_all(history, driver(w, data, history))
    if isinstance(driver, CachedDriver):
        driver.forget(history)  # lost: the next decision replays the body
    decision = driver(w, data, history)
    assert type(decision.outcome) is Fail
    assert type(decision.outcome.error) is flowy.NondeterminismError
    for name in names:
        assert name in decision.outcome.reason


# -- effects in a plain reducer -------------------------------------------------------------


def _sleeps(a, b):
    flowy.sleep(1)
    return a + b


def _now(a, b):
    flowy.now()
    return a + b


def _marks(a, b):
    flowy.marker('pair', [a, b])
    return a + b


def _listens(a, b):
    flowy.wait_signal('go')
    return a + b


class ReducesWith:
    reducer = None

    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self, catch):
        items = [self.inc(i) for i in range(3)]
        cancelled = self.inc(10)

        def cancels(a, b):
            flowy.cancel(cancelled)
            return a + b

        reducer = cancels if ReducesWith.reducer is None else ReducesWith.reducer
        try:
            return flowy.wait(flowy.parallel_reduce(reducer, items))
        except (TypeError, flowy.TaskError):
            if not catch:
                raise
            return 'caught'


@pytest.mark.parametrize('catch', [False, True])
@pytest.mark.parametrize('reducer, name', [
    (_sleeps, 'flowy.sleep()'), (_now, 'flowy.now()'), (_marks, 'flowy.marker()'),
    (_listens, 'flowy.wait_signal()'), (None, 'flowy.cancel()')])
def test_effects_in_a_plain_reducer_are_refused_like_a_task_call(reducer, name, catch):
    ReducesWith.reducer = reducer
    outcome, decisions, _ = on_both(ReducesWith, catch)
    assert outcome[0] == 'error'
    assert type(outcome[1].__cause__).__name__ == 'TaskInReducer'
    assert 'given to parallel_reduce() called %s' % name in str(outcome[1])
    assert commands(decisions, StartTimer) == commands(decisions, RecordMarker) == []
    assert commands(decisions, CancelCall) == []


# -- context() ---------------------------------------------------------------------------------


class Introspects:
    def __init__(self, inc, boom):
        self.inc = inc

    def __call__(self):
        before = flowy.context()
        flowy.wait(self.inc(1))
        after = flowy.context()
        assert before == after
        return [after.workflow, after.workflow_id, after.run_id, after.key, after.attempt,
                after == flowy.Context('Introspects', 'wf-7', 'run-3')]


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_context_in_a_body_names_the_workflow_and_the_run_ids_of_its_history(make_driver):
    history = History()
    history.ids = ('wf-7', 'run-3')
    decisions = decide_by_hand(make_driver, Introspects, [_completes('inc-0-0', '2')],
                               history=history)
    assert decisions[1].outcome == Finish('["Introspects","wf-7","run-3",null,null,true]')


def test_context_in_a_body_without_run_ids_has_only_the_workflow_name():
    outcome, _, _ = on_both(Introspects)
    assert outcome == ('result', ['Introspects', None, None, None, None, False])


def _completes(key, data):
    def step(history, decision):
        schedule_all(history, decision)
        history.completed(key, data)
    return step


class CancelsAFailingCall:
    def __init__(self, inc, boom):
        self.boom = boom

    def __call__(self):
        retried = self.boom(3)
        flowy.cancel(retried)
        try:
            return flowy.wait(retried)
        except flowy.TaskCancelled as exc:
            return exc.key


@pytest.mark.parametrize('make_driver', DRIVERS)
def test_an_attempt_failing_before_the_engine_records_the_cancel_has_its_retry_cancelled(
        make_driver):
    # The attempt fails while the decision cancelling it is made: the engine finds
    # nothing left to cancel (History.to_cancel), and the next decision, which retries
    # the call, must cancel it again, as a replay of the body reaching cancel() does.
    def fails_first(history, decision):
        assert decision.calls[1] == CancelCall('boom-0', 1)
        history.scheduled('boom-0-0', 0)
        history.failed('boom-0-0', 'boom on 3')
        assert history.to_cancel('boom-0') is None

    def cancelled(history, decision):
        assert [type(call) for call in decision.calls] == [ScheduleCall, CancelCall]
        assert decision.calls[0].key == 'boom-0-1'
        assert decision.calls[1] == CancelCall('boom-0', 1)
        history.scheduled('boom-0-1', 0)
        assert history.to_cancel('boom-0') == 'boom-0-1'
        history.cancelled('boom-0-1')

    decisions = decide_by_hand(make_driver, CancelsAFailingCall, [fails_first, cancelled])
    assert decisions[2].outcome == Finish('"boom-0-1"')



def add(a, b):
    return a + b


class CancelsAReduction:
    def __init__(self, add):
        self.add = add

    def __call__(self):
        total = flowy.parallel_reduce(self.add, [1, 2, 3])  # add-0-0 now, add-0-1 after it
        flowy.wait(flowy.sleep(0))  # finishes after add-0-0: add-0-1 is made, pending
        flowy.cancel(total)
        return flowy.wait(flowy.sleep(1))


def test_cancelling_a_pending_reduction_decides_alike():
    # A reduction's answer is a combined result on both drivers: cancelling it is refused
    # (cancel its inputs instead), whether its last call was made before or after.
    runs = []
    for driver in (replay, CachedDriver()):
        w = flowy.LocalWorkflow(CancelsAReduction, executor=ThreadPoolExecutor)
        w.conf_activity('add', add)
        sim = SimulatedEngine(w, driver=driver)
        try:
            outcome = ('result', sim.run())
        except flowy.TaskError as exc:
            outcome = ('error', str(exc))
        runs.append((outcome, sim.decisions))
    assert runs[0] == runs[1]
    assert runs[0][0][0] == 'error'
    assert runs[0][0][1].startswith('cancel() takes the result of a task call')


class MarksItsEnd:
    def __init__(self, add):
        self.add = add

    def __call__(self):
        flowy.marker('done', {'at': 'the end'})
        return flowy.now().year > 2000


@pytest.mark.parametrize('make_driver', [lambda: replay, CachedDriver], ids=['replay', 'cached'])
def test_values_recorded_by_the_decision_that_ends_the_run_are_kept(make_driver):
    w = flowy.LocalWorkflow(MarksItsEnd, executor=ThreadPoolExecutor)
    w.conf_activity('add', add)
    sim = SimulatedEngine(w, driver=make_driver())
    assert sim.run() is True
    (decision,) = sim.decisions
    assert [(type(call).__name__, call.key) for call in decision.calls] == [
        ('RecordMarker', '@marker-0'), ('RecordMarker', '@now-0')]
    assert sim.histories[0].get('@marker-0').data == '{"at":"the end"}'
