"""The replay decider against hand-built histories: one exact Decision per case.

Each test builds a :class:`flowy.history.History` by hand (which calls were scheduled at
which body position, then the outcomes in the order they finished), runs
:func:`flowy.drivers.replay.replay` once and compares the whole :class:`~flowy.decision.Decision`.
This is the re-expression of the original flowy's decision checklist (its
``test_swf.py``/``swf_cases.py``), plus checks that a non-deterministic body is caught.
"""

import pytest

import flowy
from flowy import (
    TaskError,
    TaskTimedout,
    finish_order,
    first,
    parallel_reduce,
    restart,
    wait,
)
from flowy.config import ACTIVITY, TaskSpec, WorkflowConfig
from flowy.decision import Decision, Fail, FailCall, Finish, Restart, ScheduleCall
from flowy.drivers.replay import replay
from flowy.errors import FlowyError, NondeterminismError
from flowy.history import History
from flowy.result import PENDING, TaskResult, result_of
from flowy.serialization import dumps

# -- helpers ------------------------------------------------------------------------


def _never_called(*args, **kwargs):  # the activity target; replay never runs it
    raise AssertionError('replay must not run activities')


def make_config(factory, *deps, retry=(0,)):
    config = WorkflowConfig(factory)
    for dep in deps:
        config._add_task(TaskSpec(dep, ACTIVITY, _never_called, retry=retry))
    return config


class Err(str):
    """Marks an outcome in :func:`history` as a failure with this reason."""


TIMEOUT = object()


def history(scheduled=(), finished=()):
    """``scheduled``: (key, position) pairs; ``finished``: (key, outcome) in finish order.

    An outcome is a value (completed; stored as tagged JSON), an :class:`Err` (failed) or
    :data:`TIMEOUT`.  A key finished without being listed as scheduled is scheduled first,
    at no position.
    """
    h = History()
    for key, position in scheduled:
        h.scheduled(key, position)
    for key, outcome in finished:
        if outcome is TIMEOUT:
            h.timed_out(key)
        elif isinstance(outcome, Err):
            h.failed(key, str(outcome))
        else:
            h.completed(key, dumps(outcome))
    return h


def decide(config, h=None, *args, **kwargs):
    return replay(config, config._encode_input(args, kwargs), h if h is not None else History())


def call(dep, number, position, args=(), kwargs=None, attempt=0, depends_on=(), delay=0):
    """The ScheduleCall expected for call ``number`` of ``dep`` made at ``position``."""
    return ScheduleCall('%s-%d-%d' % (dep, number, attempt), dep, number, attempt, position,
                        dumps([list(args), kwargs or {}]), tuple(depends_on), delay)


def schedules(*calls):
    return Decision(calls)


WAITING = Decision()


def finishes(value):
    return Decision(outcome=Finish(dumps(value)))


def fails(reason):
    return Decision(outcome=Fail(reason))


def running(*keys):
    """Scheduled pairs for ``keys`` at positions 0, 1, 2... in the order given."""
    return [(key, position) for position, key in enumerate(keys)]


# -- workflows ----------------------------------------------------------------------


class NoTask:
    def __init__(self):
        pass

    def __call__(self, value):
        return value


def closure_factory(task):
    def body(x):
        return task(task(x))
    return body


class Arguments:
    def __init__(self):
        pass

    def __call__(self, a, b, c='c', d='d'):
        return a, b, c, d


class Dependency:
    def __init__(self, task):
        self.task = task

    def __call__(self, n):
        acc = 0
        for _ in range(n):
            acc = self.task(acc)
        return acc


class Parallel:
    def __init__(self, task):
        self.task = task

    def __call__(self, n):
        return list(map(self.task, range(n)))


class UnhandledException:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        raise RuntimeError('err!')


class SingleTask:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        return self.task()


class WaitTask:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        a = self.task()
        wait(a)
        b = self.task(a)
        return b


class RestartWorkflow:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        return restart(self.task(), 2)


class PreRun:
    def __init__(self, task):
        self.task = task
        self.x = task()
        self.y = task(self.x)

    def __call__(self):
        return self.task(self.y)


class PreRunError:
    def __init__(self, task):
        raise RuntimeError('err!')

    def __call__(self):
        return 1


class PreRunWait:
    def __init__(self, task):
        self.task = task
        self.x = task()
        wait(self.x)

    def __call__(self):
        return self.task(self.x)


class DoubleDep:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        a = self.task()
        b = self.task()
        return self.task(a=a, b=b, c=3, d=4)


class First:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        return first(self.task(), self.task())


class First2:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        results = finish_order([self.task() for _ in range(4)])
        return [next(results), next(results)]


class ParallelReduce:
    def __init__(self, task, red):
        self.task, self.red = task, red

    def __call__(self):
        return parallel_reduce(self.red, [self.task() for _ in range(3)])


class ParallelReduceCombined:
    def __init__(self, task, red):
        self.task, self.red = task, red

    def __call__(self):
        return parallel_reduce(self.red, (self.task(), 'a', 'b', 'c'))


class ArgsStructErrors:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        a = self.task()
        b = self.task()
        c = self.task([[b], a])
        return wait(c)


class ArgsStructErrorsHandled:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        a = self.task()
        b = self.task()
        c = self.task([[b], a])
        try:
            wait(c)
        except TaskError:
            return 8
        return c


# -- NoTask, Closure, Arguments ----------------------------------------------------------


@pytest.mark.parametrize('value', [10, 'abc', [1, 2, 3], {'k': (1, None)}])
def test_no_task_echoes_its_input(value):
    assert decide(make_config(NoTask), None, value) == finishes(value)


def test_closure_factory_schedules_and_chains():
    config = make_config(closure_factory, 'task')
    assert decide(config, None, 5) == schedules(call('task', 0, 0, [5]))
    h = history(running('task-0-0'), [('task-0-0', 6)])
    assert decide(config, h, 5) == schedules(
        call('task', 1, 1, [6], depends_on=['task-0-0']))
    h = history(running('task-0-0', 'task-1-0'), [('task-0-0', 6), ('task-1-0', 7)])
    assert decide(config, h, 5) == finishes(7)


@pytest.mark.parametrize('args, kwargs, expected', [
    (('a', 'b'), {}, ('a', 'b', 'c', 'd')),
    (('a', 'b', 'c'), {}, ('a', 'b', 'c', 'd')),
    (('a', 'b'), {'d': 'D'}, ('a', 'b', 'c', 'D')),
    (('a',), {'b': 'B', 'c': 'C'}, ('a', 'B', 'C', 'd')),
])
def test_arguments_defaults_and_kwargs(args, kwargs, expected):
    decision = decide(make_config(Arguments), None, *args, **kwargs)
    # Tagged JSON keeps the tuple a tuple (the original returned a list).
    assert decision == finishes(expected)
    assert decision.outcome.result.startswith('{"!t":')


def test_bad_input_fails_the_decision():
    config = make_config(Arguments)
    decision = decide(config, None, 'only-one')
    assert type(decision.outcome) is Fail
    assert 'b' in decision.outcome.reason


# -- Dependency ---------------------------------------------------------------------


def test_dependency_empty_history_schedules_only_the_first_link():
    assert decide(make_config(Dependency, 'task'), None, 3) == schedules(call('task', 0, 0, [0]))


def test_dependency_results_schedule_the_next_link():
    h = history(running('task-0-0', 'task-1-0'), [('task-0-0', 1), ('task-1-0', 2)])
    assert decide(make_config(Dependency, 'task'), h, 3) == schedules(
        call('task', 2, 2, [2], depends_on=['task-1-0']))


def test_dependency_running_link_waits():
    h = history(running('task-0-0', 'task-1-0'), [('task-0-0', 1)])
    assert decide(make_config(Dependency, 'task'), h, 3) == WAITING


def test_dependency_error_fails_the_workflow():
    h = history(running('task-0-0', 'task-1-0'), [('task-0-0', 1), ('task-1-0', Err('err!'))])
    assert decide(make_config(Dependency, 'task'), h, 3) == fails('task-1-0 failed: err!')


def test_dependency_complete_history_finishes():
    h = history(running('task-0-0', 'task-1-0', 'task-2-0'),
                [('task-0-0', 1), ('task-1-0', 2), ('task-2-0', 3)])
    assert decide(make_config(Dependency, 'task'), h, 3) == finishes(3)


# -- Parallel -----------------------------------------------------------------------


def test_parallel_empty_history_schedules_all_in_call_order():
    assert decide(make_config(Parallel, 'task'), None, 4) == schedules(
        *[call('task', i, i, [i]) for i in range(4)])


def test_parallel_all_results_finish_with_the_list():
    keys = ['task-%d-0' % i for i in range(4)]
    h = history(running(*keys), [(keys[i], i * 10) for i in (2, 0, 3, 1)])
    assert decide(make_config(Parallel, 'task'), h, 4) == finishes([0, 10, 20, 30])


def test_parallel_some_running_schedules_nothing_new():
    keys = ['task-%d-0' % i for i in range(4)]
    h = history(running(*keys), [('task-1-0', 1), ('task-3-0', 3)])
    assert decide(make_config(Parallel, 'task'), h, 4) == WAITING


# -- UnhandledException ---------------------------------------------------------------


def test_unhandled_exception_fails_with_its_message():
    decision = decide(make_config(UnhandledException, 'task'))
    assert decision == fails('err!')
    assert type(decision.outcome.error) is RuntimeError


def test_exception_without_message_fails_with_its_type_name():
    class Quiet:
        def __call__(self):
            raise KeyError

    decision = decide(make_config(lambda: Quiet()))
    assert type(decision.outcome) is Fail and 'KeyError' in decision.outcome.reason


# -- SingleTask (with timeouts and retries) -------------------------------------------


def single(retry=(0, 0, 0)):
    return make_config(SingleTask, 'task', retry=retry)


def test_single_task_empty_history_schedules_it_with_empty_input():
    assert decide(single()) == schedules(call('task', 0, 0))


def test_single_task_error_fails():
    h = history(running('task-0-0'), [('task-0-0', Err('err!'))])
    assert decide(single(), h) == fails('task-0-0 failed: err!')


def test_single_task_result_finishes():
    h = history(running('task-0-0'), [('task-0-0', 1)])
    assert decide(single(), h) == finishes(1)


def test_single_task_running_waits():
    assert decide(single(), history(running('task-0-0'))) == WAITING


def test_single_task_timeout_schedules_the_next_attempt():
    h = history(running('task-0-0'), [('task-0-0', TIMEOUT)])
    assert decide(single(), h) == schedules(call('task', 0, 0, attempt=1))


def test_single_task_retry_delay_is_carried_in_the_schedule():
    h = history(running('task-0-0'), [('task-0-0', TIMEOUT)])
    assert decide(single(retry=(0, 5)), h) == schedules(call('task', 0, 0, attempt=1, delay=5))


def test_single_task_second_attempt_result_finishes():
    h = history([('task-0-0', 0), ('task-0-1', 0)], [('task-0-0', TIMEOUT), ('task-0-1', 42)])
    assert decide(single(), h) == finishes(42)


def test_single_task_all_attempts_timed_out_fails_with_timeout():
    keys = ['task-0-0', 'task-0-1', 'task-0-2']
    h = history([(key, 0) for key in keys], [(key, TIMEOUT) for key in keys])
    decision = decide(single(), h)
    assert type(decision.outcome) is Fail
    assert 'timed out' in decision.outcome.reason
    assert type(decision.outcome.error) is TaskTimedout
    assert issubclass(TaskTimedout, TaskError)


def test_single_task_with_one_attempt_times_out_at_once():
    h = history(running('task-0-0'), [('task-0-0', TIMEOUT)])
    decision = decide(single(retry=(0,)), h)
    assert type(decision.outcome.error) is TaskTimedout
    assert decision.calls == []


# -- WaitTask -----------------------------------------------------------------------


def test_wait_task_running_schedules_nothing():
    assert decide(make_config(WaitTask, 'task'), history(running('task-0-0'))) == WAITING


def test_wait_task_done_schedules_the_dependent_call():
    h = history(running('task-0-0'), [('task-0-0', 1)])
    assert decide(make_config(WaitTask, 'task'), h) == schedules(
        call('task', 1, 1, [1], depends_on=['task-0-0']))


def test_wait_task_error_fails():
    h = history(running('task-0-0'), [('task-0-0', Err('err!'))])
    # no type: the history records none (an engine's records name it)
    assert decide(make_config(WaitTask, 'task'), h) == fails('task-0-0 failed: err!')


def test_wait_task_timed_out_fails_with_the_timeout():
    keys = ['task-0-0', 'task-0-1', 'task-0-2']
    h = history([(key, 0) for key in keys], [(key, TIMEOUT) for key in keys])
    decision = decide(make_config(WaitTask, 'task', retry=(0, 0, 0)), h)
    assert type(decision.outcome.error) is TaskTimedout
    assert 'timed out' in decision.outcome.reason


# -- Restart ------------------------------------------------------------------------


def test_restart_with_a_result_restarts_with_new_input():
    config = make_config(RestartWorkflow, 'task')
    h = history(running('task-0-0'), [('task-0-0', 1)])
    assert decide(config, h) == Decision(outcome=Restart(config._encode_input([1, 2], {})))


def test_restart_waits_for_a_running_argument():
    assert decide(make_config(RestartWorkflow, 'task'), history(running('task-0-0'))) == WAITING


def test_restart_with_an_error_fails():
    h = history(running('task-0-0'), [('task-0-0', Err('err!'))])
    assert decide(make_config(RestartWorkflow, 'task'), h) == fails('task-0-0 failed: err!')


def test_restart_keyword_input():
    class KwRestart:
        def __call__(self, n=0):
            return restart(n=n + 1)

    config = make_config(lambda: KwRestart())
    expected = Restart(config._encode_input([], {'n': 4}))
    assert decide(config, None, n=3) == Decision(outcome=expected)


# -- PreRun, PreRunError, PreRunWait ------------------------------------------------------


def test_pre_run_schedules_from_init():
    assert decide(make_config(PreRun, 'task')) == schedules(call('task', 0, 0))


def test_pre_run_chains_from_init_into_the_body():
    config = make_config(PreRun, 'task')
    h = history(running('task-0-0'), [('task-0-0', 1)])
    assert decide(config, h) == schedules(call('task', 1, 1, [1], depends_on=['task-0-0']))
    h = history(running('task-0-0', 'task-1-0'), [('task-0-0', 1), ('task-1-0', 2)])
    assert decide(config, h) == schedules(call('task', 2, 2, [2], depends_on=['task-1-0']))
    h = history(running('task-0-0', 'task-1-0', 'task-2-0'),
                [('task-0-0', 1), ('task-1-0', 2), ('task-2-0', 3)])
    assert decide(config, h) == finishes(3)


def test_pre_run_error_in_init_call_fails():
    h = history(running('task-0-0'), [('task-0-0', Err('err!'))])
    assert decide(make_config(PreRun, 'task'), h) == fails('task-0-0 failed: err!')


def test_pre_run_error_factory_raising_fails():
    assert decide(make_config(PreRunError, 'task')) == fails('err!')


def test_pre_run_wait_in_init_on_running_task_schedules_nothing():
    assert decide(make_config(PreRunWait, 'task'), history(running('task-0-0'))) == WAITING


def test_pre_run_wait_in_init_empty_history_schedules_the_first_call_only():
    assert decide(make_config(PreRunWait, 'task')) == schedules(call('task', 0, 0))


# -- DoubleDep ------------------------------------------------------------------------


def test_double_dep_schedules_both_then_waits():
    config = make_config(DoubleDep, 'task')
    assert decide(config) == schedules(call('task', 0, 0), call('task', 1, 1))
    h = history(running('task-0-0', 'task-1-0'), [('task-1-0', 2)])
    assert decide(config, h) == WAITING


def test_double_dep_both_done_schedules_with_keyword_input():
    h = history(running('task-0-0', 'task-1-0'), [('task-1-0', 2), ('task-0-0', 1)])
    assert decide(make_config(DoubleDep, 'task'), h) == schedules(
        call('task', 2, 2, kwargs={'a': 1, 'b': 2, 'c': 3, 'd': 4},
             depends_on=['task-0-0', 'task-1-0']))


@pytest.mark.parametrize('order, reason', [
    (['task-0-0', 'task-1-0'], 'err-a'),
    (['task-1-0', 'task-0-0'], 'err-b'),
])
def test_double_dep_earliest_finished_error_wins(order, reason):
    reasons = {'task-0-0': Err('err-a'), 'task-1-0': Err('err-b')}
    h = history(running('task-0-0', 'task-1-0'), [(key, reasons[key]) for key in order])
    assert decide(make_config(DoubleDep, 'task'), h) == fails('%s failed: %s' % (order[0], reason))


def test_double_dep_error_wins_over_running():
    h = history(running('task-0-0', 'task-1-0'), [('task-1-0', Err('err-b'))])
    assert decide(make_config(DoubleDep, 'task'), h) == fails('task-1-0 failed: err-b')


# -- First, First2 --------------------------------------------------------------------


@pytest.mark.parametrize('order, expected', [
    ([('task-0-0', 'a'), ('task-1-0', 'b')], 'a'),
    ([('task-1-0', 'b'), ('task-0-0', 'a')], 'b'),
])
def test_first_finishes_with_the_first_to_finish(order, expected):
    h = history(running('task-0-0', 'task-1-0'), order)
    assert decide(make_config(First, 'task'), h) == finishes(expected)


def test_first_with_one_done_does_not_wait_for_the_other():
    h = history(running('task-0-0', 'task-1-0'), [('task-1-0', 'b')])
    assert decide(make_config(First, 'task'), h) == finishes('b')


def test_first_none_done_waits():
    assert decide(make_config(First, 'task'), history(running('task-0-0', 'task-1-0'))) == WAITING


def test_first_error_first_fails():
    h = history(running('task-0-0', 'task-1-0'), [('task-1-0', Err('err!')), ('task-0-0', 'a')])
    assert decide(make_config(First, 'task'), h) == fails('task-1-0 failed: err!')


FOUR = ['task-0-0', 'task-1-0', 'task-2-0', 'task-3-0']


def test_first2_takes_the_first_two_in_finish_order():
    h = history(running(*FOUR), [(FOUR[i], i + 1) for i in (0, 3, 1, 2)])
    assert decide(make_config(First2, 'task'), h) == finishes([1, 4])


def test_first2_needs_only_two_results():
    h = history(running(*FOUR), [('task-3-0', 4), ('task-1-0', 2)])
    assert decide(make_config(First2, 'task'), h) == finishes([4, 2])


def test_first2_second_to_finish_is_an_error():
    h = history(running(*FOUR), [('task-0-0', 1), ('task-3-0', Err('err4!')), ('task-1-0', 2)])
    assert decide(make_config(First2, 'task'), h) == fails('task-3-0 failed: err4!')


def test_first2_one_done_three_running_waits():
    h = history(running(*FOUR), [('task-2-0', 3)])
    assert decide(make_config(First2, 'task'), h) == WAITING


# -- ParallelReduce -------------------------------------------------------------------

THREE = ['task-0-0', 'task-1-0', 'task-2-0']


def reduce_config():
    return make_config(ParallelReduce, 'task', 'red')


def test_parallel_reduce_empty_history_schedules_the_map():
    assert decide(reduce_config()) == schedules(*[call('task', i, i) for i in range(3)])


def test_parallel_reduce_all_running_waits():
    assert decide(reduce_config(), history(running(*THREE))) == WAITING


def test_parallel_reduce_one_done_waits():
    assert decide(reduce_config(), history(running(*THREE), [('task-1-0', 2)])) == WAITING


@pytest.mark.parametrize('order, inputs', [
    ([('task-0-0', 1), ('task-1-0', 2)], [1, 2]),
    ([('task-1-0', 2), ('task-0-0', 1)], [2, 1]),
])
def test_parallel_reduce_two_done_schedules_red_in_finish_order(order, inputs):
    deps = [key for key, _ in order]
    # The reducer's calls have the positions reserved where parallel_reduce was called.
    assert decide(reduce_config(), history(running(*THREE), order)) == schedules(
        call('red', 0, 3, inputs, depends_on=deps))


def test_parallel_reduce_combines_the_partial_result_with_the_last_input():
    h = history(running(*THREE) + [('red-0-0', 3)],
                [('task-0-0', 1), ('task-1-0', 2), ('red-0-0', 3), ('task-2-0', 10)])
    assert decide(reduce_config(), h) == schedules(
        call('red', 1, 4, [3, 10], depends_on=['red-0-0', 'task-2-0']))


def test_parallel_reduce_pairs_whichever_two_finish_first():
    # task-2 and task-0 finish first: they are reduced first, whatever their positions.
    h = history(running(*THREE), [('task-2-0', 10), ('task-0-0', 1)])
    assert decide(reduce_config(), h) == schedules(
        call('red', 0, 3, [10, 1], depends_on=['task-2-0', 'task-0-0']))


def test_parallel_reduce_all_done_finishes():
    h = history(running(*THREE) + [('red-0-0', 3), ('red-1-0', 4)],
                [('task-0-0', 1), ('task-1-0', 2), ('red-0-0', 3), ('task-2-0', 10),
                 ('red-1-0', 13)])
    assert decide(reduce_config(), h) == finishes(13)


def test_parallel_reduce_error_in_an_input_fails_once_all_are_done():
    h = history(running(*THREE),
                [('task-0-0', 1), ('task-1-0', Err('bad input')), ('task-2-0', 3)])
    assert decide(reduce_config(), h) == fails('task-1-0 failed: bad input')


def test_parallel_reduce_error_in_an_input_fails_without_waiting_for_the_rest():
    # Every input flows into the final result, so one failed input dooms the reduction;
    # red(error, pending) is an error at once by the call rule, as it was in the original.
    h = history(running(*THREE), [('task-0-0', 1), ('task-1-0', Err('bad input'))])
    assert decide(reduce_config(), h) == fails('task-1-0 failed: bad input')


def combined_config():
    return make_config(ParallelReduceCombined, 'task', 'red')


def test_parallel_reduce_combined_pairs_plain_values_at_once():
    assert decide(combined_config()) == schedules(call('task', 0, 0),
                                                  call('red', 0, 1, ['a', 'b']))


@pytest.mark.parametrize('finished, expected', [
    ([('task-0-0', 'xyz')], call('red', 1, 2, ['c', 'xyz'], depends_on=['task-0-0'])),
    ([('red-0-0', 'ab')], call('red', 1, 2, ['c', 'ab'], depends_on=['red-0-0'])),
])
def test_parallel_reduce_combined_remainder_goes_with_the_first_to_finish(finished, expected):
    h = history([('task-0-0', 0), ('red-0-0', 1)], finished)
    assert decide(combined_config(), h) == schedules(expected)


def test_parallel_reduce_combined_last_step_and_finish():
    scheduled = [('task-0-0', 0), ('red-0-0', 1), ('red-1-0', 2)]
    h = history(scheduled, [('task-0-0', 'xyz'), ('red-0-0', 'ab'), ('red-1-0', 'cxyz')])
    assert decide(combined_config(), h) == schedules(
        call('red', 2, 3, ['ab', 'cxyz'], depends_on=['red-0-0', 'red-1-0']))
    h = history(scheduled + [('red-2-0', 3)],
                [('task-0-0', 'xyz'), ('red-0-0', 'ab'), ('red-1-0', 'cxyz'),
                 ('red-2-0', 'abcxyz')])
    assert decide(combined_config(), h) == finishes('abcxyz')


# -- ArgsStructErrors ----------------------------------------------------------------------


def test_args_struct_errors_error_beats_running():
    h = history(running('task-0-0', 'task-1-0'), [('task-0-0', Err('err-a'))])
    assert decide(make_config(ArgsStructErrors, 'task'), h) == fails('task-0-0 failed: err-a')


@pytest.mark.parametrize('order, reason', [
    (['task-0-0', 'task-1-0'], 'err-a'),
    (['task-1-0', 'task-0-0'], 'err-b'),
])
def test_args_struct_errors_earliest_error_wins(order, reason):
    reasons = {'task-0-0': Err('err-a'), 'task-1-0': Err('err-b')}
    h = history(running('task-0-0', 'task-1-0'), [(key, reasons[key]) for key in order])
    assert decide(make_config(ArgsStructErrors, 'task'), h) == fails(
        '%s failed: %s' % ('task-0-0' if reason == 'err-a' else 'task-1-0', reason))


def test_args_struct_nested_results_are_substituted():
    h = history(running('task-0-0', 'task-1-0'), [('task-1-0', 'b'), ('task-0-0', 'a')])
    assert decide(make_config(ArgsStructErrors, 'task'), h) == schedules(
        call('task', 2, 2, [[['b'], 'a']], depends_on=['task-1-0', 'task-0-0']))


@pytest.mark.parametrize('finished', [
    [('task-0-0', Err('err-a'))],
    [('task-0-0', Err('err-a')), ('task-1-0', Err('err-b'))],
    [('task-1-0', Err('err-b')), ('task-0-0', Err('err-a'))],
])
def test_args_struct_errors_handled_finishes(finished):
    h = history(running('task-0-0', 'task-1-0'), finished)
    assert decide(make_config(ArgsStructErrorsHandled, 'task'), h) == finishes(8)


# -- dependency names ----------------------------------------------------------------------


@pytest.mark.parametrize('name', ['123', 'for', 'abc!123', '1abc', '', 'a-b', 'class'])
def test_invalid_dependency_name_is_a_value_error_naming_it(name):
    config = WorkflowConfig(NoTask)
    with pytest.raises(ValueError) as info:
        config._add_task(TaskSpec(name, ACTIVITY, _never_called))
    assert repr(name) in str(info.value)


def test_duplicate_dependency_name_is_a_value_error_naming_it():
    config = make_config(SingleTask, 'task')
    with pytest.raises(ValueError, match="'task'"):
        config._add_task(TaskSpec('task', ACTIVITY, _never_called))


class AnyTasks:
    def __init__(self, **tasks):
        self.tasks = tasks

    def __call__(self):
        return len(self.tasks)


@pytest.mark.parametrize('name', ['task', '_private', 'abc_123', 'Task2'])
def test_valid_dependency_names(name):
    make_config(AnyTasks, name)  # a factory taking **tasks takes any name


def test_a_dependency_the_factory_does_not_take_is_refused_when_configured():
    config = WorkflowConfig(SingleTask)
    with pytest.raises(TypeError) as info:
        config._add_task(TaskSpec('tsak', ACTIVITY, _never_called))
    assert str(info.value) == ("the workflow SingleTask takes no dependency 'tsak': did you "
                               "mean 'task'?")
    with pytest.raises(TypeError, match="^the workflow NoTask takes no dependency 'x': it takes "
                                        "none$"):
        WorkflowConfig(NoTask)._add_task(TaskSpec('x', ACTIVITY, _never_called))
    assert config.specs == {}


# -- operations on plain and mixed values --------------------------------------------------


def test_parallel_reduce_empty_is_a_value_error():
    with pytest.raises(ValueError):
        parallel_reduce(lambda x, y: x + y, [])
    with pytest.raises(ValueError):
        parallel_reduce(lambda x, y: x + y, iter(()))


def test_parallel_reduce_one_element_is_that_same_object():
    only = object()
    assert parallel_reduce(lambda x, y: x + y, [only]) is only
    proxy = TaskResult.finished(5, 0).proxy
    assert parallel_reduce(lambda x, y: x + y, [proxy]) is proxy


def test_parallel_reduce_plain_values():
    calls = []

    def add(x, y):
        calls.append((x, y))
        return x + y

    assert parallel_reduce(add, range(5)) == 10
    assert len(calls) == 4


def done(value, order):
    return TaskResult.finished(value, order).proxy


def timed_out(order):
    return TaskResult.failed(TaskTimedout('timed out'), order).proxy


def error(order):
    return TaskResult.failed(TaskError('err'), order).proxy


def test_finish_order_plain_values_unchanged():
    assert list(finish_order([1, 'b', None, 3])) == [1, 'b', None, 3]
    assert list(finish_order(1, 'b', None, 3)) == [1, 'b', None, 3]


def test_finish_order_mixed():
    r, t, e = done('r', 1), timed_out(2), error(3)
    p = TaskResult().proxy
    out = list(finish_order([p, e, 'x', t, 7, r]))
    assert out[:5] == ['x', 7, r, t, e] and out[2] is r and out[3] is t and out[4] is e
    assert len(out) == 6 and result_of(out[5]).state is PENDING


def test_finish_order_proxies_only():
    r, t, e = done('r', 1), timed_out(2), error(3)
    out = list(finish_order(e, r, t))
    assert [result_of(x) for x in out] == [result_of(r), result_of(t), result_of(e)]


def test_first_plain_values_is_the_first_element():
    assert first(3, 2, 1) == 3
    assert first([3, 2, 1]) == 3


def test_first_mixed_plain_value_wins():
    assert first(error(0), done(1, 1), 'plain') == 'plain'


def test_first_mixed_earliest_finished_wins():
    r, t, e = done('r', 1), timed_out(2), error(3)
    p = TaskResult().proxy
    assert first([e, p, r, t]) is r
    assert first([e, p, t]) is t


def test_first_of_pending_only_is_pending():
    found = first(TaskResult().proxy, TaskResult().proxy)
    assert result_of(found).state is PENDING


def test_first_empty_is_a_value_error():
    with pytest.raises(ValueError):
        first()


# -- non-determinism ----------------------------------------------------------------------

CHOICE = {'task': 'a'}


class Chooser:
    """Picks which task to call from module state: not deterministic."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __call__(self):
        return self.a() if CHOICE['task'] == 'a' else self.b()


class SometimesCalls:
    def __init__(self, a, b):
        self.a = a

    def __call__(self):
        if CHOICE['task'] == 'a':
            return self.a()
        return 'skipped'


class SwallowsEverything:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __call__(self):
        try:
            return wait(self.a() if CHOICE['task'] == 'a' else self.b())
        except Exception:  # noqa: BLE001 - the point of the test
            return 'swallowed'


@pytest.fixture
def choice():
    yield CHOICE
    CHOICE['task'] = 'a'


def assert_nondeterministic(decision, *names):
    assert decision.calls == []
    assert type(decision.outcome) is Fail
    assert 'non-deterministic' in decision.outcome.reason
    assert isinstance(decision.outcome.error, NondeterminismError)
    assert isinstance(decision.outcome.error, FlowyError)
    for name in names:
        assert name in decision.outcome.reason


def test_deterministic_chooser_is_fine(choice):
    config = make_config(Chooser, 'a', 'b')
    assert decide(config) == schedules(call('a', 0, 0))
    assert decide(config, history(running('a-0-0'), [('a-0-0', 1)])) == finishes(1)


@pytest.mark.parametrize('finished', [[], [('a-0-0', 1)], [('a-0-0', Err('x'))]])
def test_different_call_at_a_recorded_position_fails(choice, finished):
    choice['task'] = 'b'
    decision = decide(make_config(Chooser, 'a', 'b'), history(running('a-0-0'), finished))
    assert_nondeterministic(decision, 'a-0', 'b-0')


def test_call_moved_to_another_position_fails(choice):
    class Swapped:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def __call__(self):
            if CHOICE['task'] == 'a':
                return [self.a(), self.b()]
            return [self.b(), self.a()]

    choice['task'] = 'b'
    h = history(running('a-0-0', 'b-0-0'), [('a-0-0', 1), ('b-0-0', 2)])
    assert_nondeterministic(decide(make_config(Swapped, 'a', 'b'), h), 'b-0')


@pytest.mark.parametrize('finished', [[], [('a-0-0', 1)]])
def test_body_finishing_without_a_recorded_call_fails(choice, finished):
    choice['task'] = 'b'
    decision = decide(make_config(SometimesCalls, 'a', 'b'), history(running('a-0-0'), finished))
    assert_nondeterministic(decision, 'a-0')


def test_except_exception_cannot_swallow_nondeterminism(choice):
    choice['task'] = 'b'
    h = history(running('a-0-0'), [('a-0-0', 1)])
    assert_nondeterministic(decide(make_config(SwallowsEverything, 'a', 'b'), h), 'a-0', 'b-0')


def test_except_exception_still_catches_task_errors(choice):
    h = history(running('a-0-0'), [('a-0-0', Err('boom'))])
    assert decide(make_config(SwallowsEverything, 'a', 'b'), h) == finishes('swallowed')


class BareExcept:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        x = self.task()
        try:
            x + 1
        except:  # noqa: E722 - the point of the test
            return 'swallowed'
        return self.task(x)


def test_bare_except_around_a_pending_value_still_waits():
    config = make_config(BareExcept, 'task')
    assert decide(config) == schedules(call('task', 0, 0))
    assert decide(config, history(running('task-0-0'))) == WAITING


def test_bare_except_does_not_schedule_calls_after_the_swallowed_suspension():
    class BareThenCall:
        def __init__(self, task):
            self.task = task

        def __call__(self):
            x = self.task()
            try:
                wait(x)
            except:  # noqa: E722, S110 - the point of the test
                pass
            return self.task(1)

    assert decide(make_config(BareThenCall, 'task')) == schedules(call('task', 0, 0))


def test_bare_except_with_the_value_known_behaves_normally():
    h = history(running('task-0-0'), [('task-0-0', 1)])
    assert decide(make_config(BareExcept, 'task'), h) == schedules(
        call('task', 1, 1, [1], depends_on=['task-0-0']))


def test_flowy_exports_the_nondeterminism_error():
    assert flowy.NondeterminismError is NondeterminismError


# -- a call whose input cannot be serialized -------------------------------------------------

class PassesAnObject:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        bad = self.task(object())
        good = self.task(1)
        return [good, bad]


def test_unserializable_input_becomes_a_failed_call_in_the_decision():
    decision = decide(make_config(PassesAnObject, 'task'))
    assert decision.outcome is None
    failed, scheduled = decision.calls
    assert type(failed) is FailCall
    assert (failed.key, failed.dep, failed.position) == ('task-0-0', 'task', 0)
    assert 'serialize' in failed.reason and 'task-0-0' in failed.reason
    # the call failed before any task ran: its error names no type, its cause does
    assert isinstance(failed.cause, TaskError) and failed.cause.type_name is None
    assert isinstance(failed.cause.__cause__, TypeError)
    assert scheduled == call('task', 1, 1, [1])


def test_recorded_input_failure_fails_the_workflow_once_used():
    h = History()
    h.failed('task-0-0', 'cannot serialize the input of task-0-0: no', position=0)
    h.scheduled('task-1-0', 1)
    assert decide(make_config(PassesAnObject, 'task'), h) == fails(
        'task-0-0 failed: cannot serialize the input of task-0-0: no')
