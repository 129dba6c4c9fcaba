"""Errors: how a failed task shows in the body, flows through calls, and ends a run."""

import pytest
import sem_activities as acts
from engines import SimulatedEngine
from sem_harness import Error, Flow, LifoEngine, make_engine

from flowy import TaskError, restart, wait
from flowy.history import RUNNING


class UsesFailure:
    def __init__(self, boom):
        self.boom = boom

    def __call__(self, message):
        return self.boom(message) + 1


def test_a_failed_activity_raises_task_error_with_its_message(engine):
    w = engine.workflow(UsesFailure, boom=acts.boom)
    # the error names the call and the type of the activity's exception; plain Python
    # raises the exception itself
    engine.check(w, ('boom: 7',), expect=Error('boom-0-0 failed: ValueError: boom: 7'),
                 sequential=Error('boom: 7'))


class Describes:
    """What a caught error carries: the call, the exception's type, its message, where."""

    def __init__(self, boom, inc, stubborn):
        self.boom = boom
        self.inc = inc
        self.stubborn = stubborn

    def __call__(self, message, how='boom'):
        try:
            if how == 'stubborn':
                wait(self.stubborn(message))
            else:
                wait(self.inc(self.boom(message)))  # inc-0-0 is never made: boom's error
        except TaskError as exc:
            traceback = exc.traceback or ''
            return [str(exc), exc.key, exc.type_name, exc.reason,
                    'in %s' % how in traceback,
                    traceback.rstrip().endswith(message)]
        return 'not caught'


def test_a_failed_task_error_carries_its_key_type_reason_and_traceback(engine):
    # on every engine: the traceback is that of the activity, as text, taken where it ran
    # (a thread, a worker process, an SWF activity worker)
    w = engine.workflow(Describes, boom=acts.boom, inc=acts.inc, stubborn=acts.stubborn)
    engine.check(w, ('three',),
                 expect=['boom-0-0 failed: ValueError: three', 'boom-0-0', 'ValueError',
                         'three', True, True],
                 sequential=Error('three'))


def test_an_exception_that_cannot_travel_keeps_its_type_and_traceback(engine):
    w = engine.workflow(Describes, boom=acts.boom, inc=acts.inc, stubborn=acts.stubborn)
    engine.check(w, ('two args', 'stubborn'),
                 expect=['stubborn-0-0 failed: StubbornError: two args', 'stubborn-0-0',
                         'StubbornError', 'two args', True, True],
                 sequential=Error('two args'))


class Dependent:
    """A call whose argument failed is not made; it returns that error."""

    def __init__(self, fail, inc, echo):
        self.fail = fail
        self.inc = inc
        self.echo = echo

    def __call__(self):
        try:
            failed = self.fail('upstream broke')
            dependent = self.inc(failed)
            deeper = self.echo({'x': [self.inc(dependent)]})
            wait(deeper)
        except TaskError as exc:
            return 'caught: %s' % exc
        return 'not caught'


def test_a_call_with_a_failed_argument_returns_that_error(engine):
    w = engine.workflow(Dependent, fail=acts.fail, inc=acts.inc, echo=acts.echo)
    # the dependent calls' result is the very error of fail-0-0: its key and its text
    engine.check(w, expect='caught: fail-0-0 failed: ActivityFailure: upstream broke',
                 sequential='caught: upstream broke')
    if engine.name == 'replay':
        for order, simulation in engine.simulations:
            made = [call.key for d in simulation.decisions for call in d.calls]
            assert made == ['fail-0-0'], order  # inc and echo were never scheduled


class TwoFailures:
    """Both arguments failed: the error that finished first wins, wherever it is."""

    def __init__(self, fail, add, echo, release):
        self.fail = fail
        self.add = add
        self.echo = echo
        self.release = release

    def __call__(self, late_first, gate=None):
        late = self.fail('late', gate=gate)  # called first, held until `early` failed
        early = self.fail('early')
        try:
            wait(early)
        except TaskError:
            pass
        self.release(gate)
        try:  # make the calls below once both have failed
            wait(late)
        except TaskError:
            pass
        args = [late, early] if late_first else [early, late]
        reasons = []
        for result in (self.add(*args), self.echo({'nested': [(args[0],), args[1]]})):
            try:
                reasons.append('no error: %r' % wait(result))
            except TaskError as exc:
                reasons.append(str(exc))
        return reasons


@pytest.mark.parametrize('late_first', [True, False])
def test_with_two_failed_arguments_the_first_to_finish_wins(engine, gates, late_first):
    # Plain Python raises the first error at its call, before the second call is made.
    w = engine.workflow(TwoFailures, fail=acts.fail, add=acts.add, echo=acts.echo,
                        release=acts.release)
    early = 'fail-1-0 failed: ActivityFailure: early'
    engine.check(w, (late_first, gates.new()), expect=[early, early],
                 sequential=Error('late'), timed=True)


@pytest.mark.engine_only('replay')
@pytest.mark.parametrize('late_first', [True, False])
def test_two_failures_follow_the_history_order_not_the_call_order(late_first):
    engine = make_engine('replay')
    w = engine.workflow(TwoFailures, fail=acts.fail, add=acts.add, echo=acts.echo,
                        release=acts.release)
    # FIFO: 'late' (called first) finishes first; LIFO: 'early' does.
    late, early = ('fail-0-0 failed: ActivityFailure: late',
                   'fail-1-0 failed: ActivityFailure: early')
    assert SimulatedEngine(w).run(late_first) == [late, late]
    assert LifoEngine(w).run(late_first) == [early, early]


class ErrorBeatsPending:
    def __init__(self, fail, echo, add):
        self.fail = fail
        self.echo = echo
        self.add = add

    def __call__(self, gate=None):
        pending = self.echo(1, gate=gate)  # held until the test ends
        failed = self.fail('fast failure')
        return self.add(pending, failed)


def test_errors_win_over_unfinished_results(engine, gates):
    w = engine.workflow(ErrorBeatsPending, fail=acts.fail, echo=acts.echo, add=acts.add)
    engine.check(w, (gates.new(),),
                 expect=Error('fail-0-0 failed: ActivityFailure: fast failure'),
                 sequential=Error('fast failure'))


@pytest.mark.engine_only('replay')
def test_an_error_fails_the_run_without_waiting_for_unfinished_arguments():
    engine = make_engine('replay')
    w = engine.workflow(ErrorBeatsPending, fail=acts.fail, echo=acts.echo, add=acts.add)
    simulation = LifoEngine(w)  # the failure finishes first, echo-0-0 is still running
    with pytest.raises(TaskError, match='^fail-0-0 failed: ActivityFailure: fast failure$'):
        simulation.run()
    assert simulation.histories[0].get('echo-0-0').state is RUNNING
    assert len(simulation.decisions) == 2
    assert all(call.dep != 'add' for d in simulation.decisions for call in d.calls)


class Recovers:
    """Catch the error of a task, carry on, and call more tasks."""

    def __init__(self, fail, square, inc):
        self.fail = fail
        self.square = square
        self.inc = inc

    def __call__(self):
        try:
            value = self.fail('first try') + 1
        except TaskError as exc:
            value = 'recovered from %s' % exc
        try:
            again = self.inc(self.inc(self.fail('second try')))
            wait(again)
        except TaskError as exc:
            again = str(exc)
        return [value, again, self.square(3)]


def test_a_caught_error_lets_the_workflow_continue(engine):
    w = engine.workflow(Recovers, fail=acts.fail, square=acts.square, inc=acts.inc)
    engine.check(w, expect=['recovered from fail-0-0 failed: ActivityFailure: first try',
                            'fail-1-0 failed: ActivityFailure: second try', 9],
                 sequential=['recovered from first try', 'second try', 9])


class ReturnsFailure:
    def __init__(self, fail, square):
        self.fail = fail
        self.square = square

    def __call__(self, where):
        ok = self.square(2)
        if where == 'top':
            return self.fail('left at the top')
        if where == 'nested':
            return {'ok': ok, 'bad': [(self.fail('left inside'),)]}
        self.fail('never looked at')
        return ok


def test_an_error_left_in_the_result_fails_the_workflow(engine):
    w = engine.workflow(ReturnsFailure, fail=acts.fail, square=acts.square)
    engine.check(w, ('top',), expect=Error('fail-0-0 failed: ActivityFailure: left at the top'),
                 sequential=Error('left at the top'))


def test_an_error_nested_in_the_result_fails_the_workflow(engine):
    w = engine.workflow(ReturnsFailure, fail=acts.fail, square=acts.square)
    engine.check(w, ('nested',), expect=Error('fail-0-0 failed: ActivityFailure: left inside'),
                 sequential=Error('left inside'))


def test_an_error_the_body_never_uses_does_not_fail_the_workflow(engine):
    # Plain Python raises at the call itself.
    w = engine.workflow(ReturnsFailure, fail=acts.fail, square=acts.square)
    engine.check(w, ('unused',), expect=4, sequential=Error('never looked at'))


LONG_MESSAGE = 'a message longer than SWF takes as a reason: ' + 'x' * 250 + ' (the end)'


class FailsWith:
    def __init__(self, square):
        self.square = square

    def __call__(self, message):
        raise TaskError('%s #%d' % (message, self.square(2)))


class LongMessages:
    """Long failure messages: of an activity, of a child workflow, of the body itself."""

    def __init__(self, fail, child):
        self.fail = fail
        self.child = child

    def __call__(self, message, raise_at_the_end):
        reasons = []
        for task in (self.fail, self.child):
            try:
                wait(task(message))
            except TaskError as exc:
                reasons.append(str(exc))
        if raise_at_the_end:
            raise RuntimeError(message)
        return reasons


def test_long_failure_messages_arrive_whole(engine):
    # SWF cuts reasons to 256 characters: flowy sends the whole text in the details, for
    # an activity's exception, a child's failure and the run's
    assert len(LONG_MESSAGE) > 256
    w = engine.workflow(LongMessages, fail=acts.fail, child=Flow(FailsWith, square=acts.square))
    engine.check(w, (LONG_MESSAGE, False),
                 expect=['fail-0-0 failed: ActivityFailure: ' + LONG_MESSAGE,
                         'child-0-0 failed: ' + LONG_MESSAGE + ' #4'],
                 sequential=[LONG_MESSAGE, LONG_MESSAGE + ' #4'])
    engine.check(w, (LONG_MESSAGE, True), expect=Error(LONG_MESSAGE))


class Raises:
    def __init__(self, square):
        self.square = square

    def __call__(self, n):
        if self.square(n) > 10:
            raise RuntimeError('too big: %d' % self.square(n))
        return 'fine'


def test_a_body_that_raises_fails_the_workflow_with_that_reason(engine):
    w = engine.workflow(Raises, square=acts.square)
    engine.check(w, (4,), expect=Error('too big: 16'))
    engine.check(w, (3,), expect='fine')


class Reasons:
    """What the reason of a failure is, for exceptions of several kinds."""

    def __init__(self, boom, stubborn, unserializable):
        self.boom = boom
        self.stubborn = stubborn
        self.unserializable = unserializable

    def __call__(self, kind):
        if kind == 'empty':
            return self.boom('')
        if kind == 'stubborn':
            return self.stubborn('cannot travel back as itself')
        return [self.unserializable()]


def test_an_exception_without_a_message_fails_with_its_type_name(engine):
    w = engine.workflow(Reasons, boom=acts.boom, stubborn=acts.stubborn,
                        unserializable=acts.unserializable)
    engine.check(w, ('empty',), expect=Error('boom-0-0 failed: ValueError'),
                 sequential=Error(''))


def test_an_exception_that_cannot_be_unpickled_keeps_its_message(engine):
    w = engine.workflow(Reasons, boom=acts.boom, stubborn=acts.stubborn,
                        unserializable=acts.unserializable)
    # its type's name and its traceback still travel, as text
    engine.check(w, ('stubborn',),
                 expect=Error(prefix='stubborn-0-0 failed: StubbornError: ',
                              suffix=': cannot travel back as itself'),
                 sequential=Error('cannot travel back as itself'))


def test_a_result_that_cannot_be_serialized_fails_that_task(engine):
    if not engine.flowy:
        pytest.skip('plain Python returns the object as it is')
    w = engine.workflow(Reasons, boom=acts.boom, stubborn=acts.stubborn,
                        unserializable=acts.unserializable)
    # SWF: the activity worker words it its own way (it names the activity type, the
    # call and the workflow id, and the transport), with the same cause at the end.
    engine.check(w, ('unserializable',),
                 expect=Error(prefix='unserializable-0-0 failed: TypeError: cannot serialize the '
                                     'result of unserializable-0-0: '),
                 swf=Error(prefix='unserializable-0-0 failed: cannot encode the result of '
                                  'activity ',
                           contains=['(unserializable-0-0 of workflow ',
                                     ': cannot serialize an object at the top level']))


class BadResult:
    def __init__(self, square):
        self.square = square

    def __call__(self, restarting):
        x = self.square(2)
        if restarting:
            return restart(x, object())
        return [x, object()]


def test_a_workflow_result_that_cannot_be_serialized_fails_the_workflow(engine):
    if not engine.flowy:
        pytest.skip('plain Python returns the object as it is')
    w = engine.workflow(BadResult, square=acts.square)
    engine.check(w, (False,), expect=Error(prefix='cannot serialize the workflow result: '))
    engine.check(w, (True,),
                 expect=Error(prefix='cannot serialize the workflow restart input: '))


class BrokenFactory:
    def __init__(self, square):
        self.early = square(3)  # tasks can be called in the constructor too
        if square(self.early) > 50:
            raise ValueError('constructor saw %d' % self.early)
        self.square = square

    def __call__(self):
        return self.square(self.early)


def test_tasks_called_and_errors_raised_in_the_factory(engine):
    w = engine.workflow(BrokenFactory, square=acts.square)
    engine.check(w, expect=Error('constructor saw 9'))


class PreRun:
    def __init__(self, square, inc):
        self.early = inc(square(3))
        self.square = square

    def __call__(self):
        return self.square(self.early)


def test_tasks_called_in_the_factory(engine):
    engine.check(engine.workflow(PreRun, square=acts.square, inc=acts.inc), expect=100)


class BareExcept:
    """A bare ``except:`` around an unfinished value must not change the outcome."""

    def __init__(self, square):
        self.square = square

    def __call__(self):
        x = self.square(3)
        try:
            y = x + 1
        except:  # noqa: E722 - the point of the test
            y = 'swallowed'
        try:
            z = self.square(x) + 1
        except BaseException:
            z = 'swallowed too'
        return [y, z]


def test_a_bare_except_does_not_swallow_a_suspension(engine):
    engine.check(engine.workflow(BareExcept, square=acts.square), expect=[10, 82])


class ChildGetsFailure:
    def __init__(self, fail, child):
        self.fail = fail
        self.child = child

    def __call__(self):
        try:
            return wait(self.child(self.fail('no input for the child')))
        except TaskError as exc:
            return 'caught: %s' % exc


def test_a_child_workflow_with_a_failed_argument_is_not_started(engine):
    w = engine.workflow(ChildGetsFailure, fail=acts.fail,
                        child=Flow(UsesFailure, boom=acts.boom))
    engine.check(w, expect='caught: fail-0-0 failed: ActivityFailure: no input for the child',
                 sequential='caught: no input for the child')
    if engine.name == 'replay':
        for order, simulation in engine.simulations:
            made = [c.key for d in simulation.decisions for c in d.calls]
            assert made == ['fail-0-0'], order
