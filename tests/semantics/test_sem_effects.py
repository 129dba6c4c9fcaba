"""sleep, now, wait_signal, marker, cancel and context, on every engine.

Plain Python has no run to signal and no history: there ``sleep`` sleeps, ``now`` reads
the clock, ``cancel`` leaves values alone, ``marker`` does nothing, and ``wait_signal``
and ``context`` (in a body) say they need an engine.
"""

import datetime

import sem_activities as acts
from sem_harness import Error, Flow

from flowy import (
    TaskCancelled,
    TaskError,
    cancel,
    context,
    first,
    marker,
    now,
    sleep,
    wait,
    wait_signal,
)

NO_SIGNALS = Error(prefix="wait_signal('go') can only be used in a workflow run by a flowy "
                          'engine')


# -- timers ------------------------------------------------------------------------------

class SleepThenCall:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        nap = sleep(0.01)
        before = wait(nap)
        return [before, self.inc(1)]


def test_sleep_finishes_with_none_and_holds_back_what_waits_for_it(engine):
    engine.check(engine.workflow(SleepThenCall, inc=acts.inc), expect=[None, 2])


class Deadline:
    """A call that never finishes in time loses a race against a timer."""

    def __init__(self, echo):
        self.echo = echo

    def __call__(self, gate=None):
        late = self.echo('late', gate=gate)  # held until the test ends
        winner = wait(first(late, sleep(0.05)))
        return 'timed out' if winner is None else winner


def test_first_of_a_call_and_a_timer_is_a_deadline(engine, gates):
    engine.check(engine.workflow(Deadline, echo=acts.echo), (gates.new(),),
                 expect='timed out', timed=True, sequential='late')


class BadSleep:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self, seconds):
        return sleep(seconds)


def test_a_negative_or_endless_sleep_fails_the_run(engine):
    w = engine.workflow(BadSleep, inc=acts.inc)
    for seconds in (-1, float('inf'), float('nan')):
        engine.check(w, (seconds,), expect=Error(
            prefix='sleep() takes a finite number of seconds >= 0; got'))
    engine.check(w, ('soon',), expect=Error("sleep() takes a number of seconds; got 'soon'"))


# -- workflow time ------------------------------------------------------------------------

class Clock:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        start = now()
        self.inc(wait(self.inc(1)))
        later = now()
        return [start.tzinfo is datetime.timezone.utc, later >= start,
                abs((later - start).total_seconds()) < 60]


def test_now_is_an_aware_utc_time_that_does_not_go_back(engine):
    engine.check(engine.workflow(Clock, inc=acts.inc), expect=[True, True, True])


# -- signals --------------------------------------------------------------------------------

class Approvals:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        first_go = wait_signal('go')
        other = wait_signal('other')
        second_go = wait_signal('go')
        return [self.inc(first_go), other, second_go]


def test_signals_are_received_in_arrival_order_per_name(engine):
    engine.check(engine.workflow(Approvals, inc=acts.inc),
                 signals=[('go', 1), ('other', {'x': [1, 2]}), ('go', 'two')],
                 expect=[2, {'x': [1, 2]}, 'two'], sequential=NO_SIGNALS)


class ApprovalWithDeadline:
    """The ten-line approval step: a human's signal, or give up after a while."""

    def __init__(self, echo):
        self.echo = echo

    def __call__(self, request, seconds):
        answer = wait(first(wait_signal('approve'), sleep(seconds)))
        if answer is None:
            return 'expired'
        return self.echo('%s: %s' % (request, answer))


def test_an_approval_arrives_before_its_deadline(engine):
    engine.check(engine.workflow(ApprovalWithDeadline, echo=acts.echo), ('deploy', 600),
                 signals=[('approve', 'yes')], expect='deploy: yes', sequential=Error(
                     prefix="wait_signal('approve') can only be used"))


def test_an_approval_that_never_comes_expires(engine):
    engine.check(engine.workflow(ApprovalWithDeadline, echo=acts.echo), ('deploy', 0.05),
                 expect='expired', sequential=Error(
                     prefix="wait_signal('approve') can only be used"))


class BadSignalName:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self, name):
        return wait_signal(name)


def test_a_bad_signal_name_fails_the_run(engine):
    w = engine.workflow(BadSignalName, inc=acts.inc)
    engine.check(w, ('',), expect=Error("a signal name must have 1 to 256 characters; got ''"))
    engine.check(w, (5,), expect=Error('a signal name must be a string; got 5'))


# -- cancelling ---------------------------------------------------------------------------

def _outcome_of(result):
    try:
        return ['value', wait(result)]
    except TaskCancelled as exc:
        return ['cancelled', str(exc), exc.key]
    except TaskError as exc:
        return ['failed', str(exc)]


class CancelRunning:
    def __init__(self, echo):
        self.echo = echo

    def __call__(self, gate=None):
        running = self.echo('slow', gate=gate)  # held until the test ends
        cancel(running)
        return _outcome_of(running)


def test_a_cancelled_call_fails_with_task_cancelled(engine, gates):
    engine.check(engine.workflow(CancelRunning, echo=acts.echo), (gates.new(),),
                 expect=['cancelled', 'echo-0 was cancelled', 'echo-0-0'],
                 sequential=['value', 'slow'])


class CancelFinished:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        done = self.inc(1)
        wait(done)
        cancel(done)
        cancel(41)
        return [_outcome_of(done), done + 1]


def test_cancelling_a_finished_result_or_a_plain_value_does_nothing(engine):
    engine.check(engine.workflow(CancelFinished, inc=acts.inc), expect=[['value', 2], 3])


class CancelTimer:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        nap = sleep(0.01)
        cancel(nap)
        return [_outcome_of(nap), self.inc(1)]


def test_a_cancelled_timer_fails_with_task_cancelled(engine):
    engine.check(engine.workflow(CancelTimer, inc=acts.inc),
                 expect=[['cancelled', '@sleep-0 was cancelled', '@sleep-0'], 2],
                 sequential=[['value', None], 2])


class CancelWaiting:
    """A call still waiting for its arguments never starts."""

    def __init__(self, echo, fail):
        self.echo, self.fail = echo, fail

    def __call__(self):
        first_step = self.echo('a')
        second = self.fail(first_step)  # would fail if it ran
        cancel(second)
        return [wait(first_step), _outcome_of(second)]


def test_a_cancelled_call_waiting_for_arguments_never_runs(engine):
    engine.check(engine.workflow(CancelWaiting, echo=acts.echo, fail=acts.fail),
                 expect=['a', ['cancelled', 'fail-0 was cancelled', 'fail-0-0']],
                 sequential=Error('a'))


class Child:
    def __init__(self, echo):
        self.echo = echo

    def __call__(self, gate=None):
        return self.echo('child', gate=gate)


class CancelChild:
    def __init__(self, child):
        self.child = child

    def __call__(self, gate=None):
        running = self.child(gate)
        cancel(running)
        return _outcome_of(running)


def test_a_cancelled_child_workflow_fails_with_task_cancelled(engine, gates):
    engine.check(engine.workflow(CancelChild, child=Flow(Child, echo=acts.echo)),
                 (gates.new(),), expect=['cancelled', 'child-0 was cancelled', 'child-0-0'],
                 sequential=['value', 'child'])


class CancelCombined:
    def __init__(self, echo):
        self.echo = echo

    def __call__(self, gate=None):
        either = first(self.echo('a', gate=gate), self.echo('b', gate=gate))
        cancel(either)
        return 'not refused'


def test_cancelling_a_combined_result_is_refused(engine, gates):
    gate = gates.new()
    engine.check(engine.workflow(CancelCombined, echo=acts.echo), (gate,), expect=Error(
        prefix='cancel() takes the result of a task call, a child workflow or sleep()'),
        sequential='not refused')


# -- markers and context ----------------------------------------------------------------------

class Marks:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        marker('started', {'at': 1})
        value = self.inc(1)
        marker('halfway', [wait(value)])
        return value


def test_markers_leave_the_result_alone(engine):
    engine.check(engine.workflow(Marks, inc=acts.inc), expect=2)


class WhoAmI:
    def __init__(self, whoami):
        self.whoami = whoami

    def __call__(self):
        mine = context()
        # SWF names types with a prefix of its own and gives a run an id of its own.
        return [mine.workflow.endswith('WhoAmI'), mine.key, mine.attempt,
                bool(mine.workflow_id and mine.run_id), self.whoami()]


def test_context_names_the_workflow_and_the_call(engine):
    expected = [True, None, None, True, [True, 'whoami-0-0', 0]]
    engine.check(engine.workflow(WhoAmI, whoami=acts.whoami), expect=expected,
                 sequential=Error(prefix='flowy.context() is only known inside a workflow '
                                         'body or an activity run by a flowy engine'),
                 replay=[True, None, None, False, 'no context'])
