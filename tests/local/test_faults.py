"""Faults on the local engine: failing activities and bodies, unpicklable or unserializable
values, bad configuration, dying workers, Ctrl-C, and nothing left running afterwards.

Every test is bounded by pytest-timeout (tox.ini); subprocesses have their own timeouts and
every polling loop is bounded.
"""

import multiprocessing
import multiprocessing.connection
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from waiting import process_gone

import flowy
from flowy import LocalWorkflow, TaskError, wait

EXECUTORS = [ThreadPoolExecutor, ProcessPoolExecutor]
EXECUTOR_IDS = ['threads', 'processes']
PROMPT = 10  # seconds: generous bound for "promptly" (the real cost is well under 1 s)


# -- activities (module level: the process pool pickles them by reference) --------------------

def boom(x):
    raise ValueError('boom %s' % x)


def identity(x):
    return x


def returns_object():
    return object()


def dies():
    os._exit(3)


def dies_the_first_time(flag):
    if not os.path.exists(flag):
        open(flag, 'w').close()
        os._exit(3)
    return 'survived'


def square(x):
    return x * x


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__('needs two args: %s/%s' % (a, b))


def raises_unpicklable_exception():
    raise NeedsTwoArgs(1, 2)


class CannotSayWhat(Exception):
    """An exception whose own description fails, as foreign code may have."""

    def __str__(self):
        raise RuntimeError('__str__ failed')


class CannotSayWhatNorTravel(CannotSayWhat):
    def __init__(self, a, b):
        super().__init__(a, b)
        self.__reduce__ = None  # pickling this instance fails


def raises_exception_that_cannot_be_described(travels):
    raise CannotSayWhat() if travels else CannotSayWhatNorTravel(1, 2)


# -- workflows --------------------------------------------------------------------------

class Single:
    def __init__(self, task):
        self.task = task

    def __call__(self, *args):
        return self.task(*args)


class PassesAnObject:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        return self.task(object())


class HandlesBadInput:
    def __init__(self, task):
        self.task = task

    def __call__(self):
        bad = self.task(object())
        good = self.task(3)
        try:
            wait(bad)
        except TaskError as exc:
            return [good, str(exc)]
        return 'not reached'


class BodyRaises:
    def __init__(self, task):
        self.task = task

    def __call__(self, *args):
        if self.task(1) == 1:
            raise KeyError('body failed')
        return 0


class FactoryRaises:
    def __init__(self, task):
        raise RuntimeError('factory failed')


class TwoDeps:
    def __init__(self, square, other):
        self.square = square

    def __call__(self):
        return self.square(2)


def causes(exc):
    """``exc`` and everything reachable through ``__cause__``."""
    chain = []
    while exc is not None and len(chain) < 20:
        chain.append(exc)
        exc = exc.__cause__
    return chain


def workflow(factory, executor=ThreadPoolExecutor, **activities):
    w = LocalWorkflow(factory, executor=executor, activity_workers=2)
    for dep, func in activities.items():
        w.conf_activity(dep, func)
    return w


def timed_run(w, *args, **kwargs):
    start = time.monotonic()
    try:
        return w.run(*args, **kwargs)
    finally:
        assert time.monotonic() - start < PROMPT


# -- failing activities and bodies ------------------------------------------------------------

@pytest.mark.parametrize('executor', EXECUTORS, ids=EXECUTOR_IDS)
def test_activity_that_raises_makes_run_raise_task_error(executor):
    with pytest.raises(TaskError) as info:
        timed_run(workflow(Single, executor, task=boom), 7)
    # the run fails with the error of the call: its key, type, message and traceback
    error = info.value
    assert str(error) == 'task-0-0 failed: ValueError: boom 7'
    assert (error.key, error.type_name, error.reason) == ('task-0-0', 'ValueError', 'boom 7')
    assert error.traceback.startswith('Traceback (most recent call last):\n')
    assert "raise ValueError('boom %s' % x)" in error.traceback
    assert error.traceback.endswith('ValueError: boom 7\n')
    originals = [exc for exc in causes(info.value) if type(exc) is ValueError]
    assert originals and str(originals[0]) == 'boom 7'
    if executor is ProcessPoolExecutor:
        # concurrent.futures carries the worker's traceback as the cause of the copy
        remote = originals[0].__cause__
        assert remote is not None and 'boom' in str(remote) and 'ValueError' in str(remote)


@pytest.mark.parametrize('executor', EXECUTORS, ids=EXECUTOR_IDS)
def test_body_that_raises_makes_run_raise_task_error(executor):
    with pytest.raises(TaskError, match='body failed') as info:
        timed_run(workflow(BodyRaises, executor, task=identity))
    assert any(type(exc) is KeyError for exc in causes(info.value))


def test_factory_that_raises_makes_run_raise_task_error():
    with pytest.raises(TaskError, match='factory failed') as info:
        timed_run(workflow(FactoryRaises, task=identity))
    assert any(type(exc) is RuntimeError for exc in causes(info.value))


def test_activity_exception_that_cannot_be_unpickled_keeps_its_message():
    with pytest.raises(TaskError) as info:
        timed_run(workflow(Single, ProcessPoolExecutor, task=raises_unpicklable_exception))
    assert 'needs two args: 1/2' in str(info.value)


def test_activity_exception_that_cannot_be_unpickled_on_threads():
    with pytest.raises(TaskError, match='needs two args: 1/2'):
        timed_run(workflow(Single, task=raises_unpicklable_exception))


@pytest.mark.parametrize('travels', [True, False], ids=['picklable', 'unpicklable'])
@pytest.mark.parametrize('executor', EXECUTORS, ids=EXECUTOR_IDS)
def test_activity_exception_whose_str_raises_fails_the_call_not_the_engine(executor, travels):
    with pytest.raises(TaskError) as info:
        timed_run(workflow(Single, executor, task=raises_exception_that_cannot_be_described),
                  travels)
    assert info.value.key == 'task-0-0'
    assert 'CannotSayWhat' in str(info.value)  # the type names it when its text cannot


# -- unpicklable and unserializable values ----------------------------------------------------

def test_lambda_activity_on_the_process_pool_is_refused_at_configuration():
    w = LocalWorkflow(Single)  # default executor: processes
    with pytest.raises(TypeError) as info:
        w.conf_activity('task', lambda x: x)
    assert "'task'" in str(info.value)
    assert 'ThreadPoolExecutor' in str(info.value)  # the message suggests a way out
    assert w.specs == {}


def test_local_function_activity_on_the_process_pool_is_refused():
    def nested(x):
        return x

    with pytest.raises(TypeError, match="'task'"):
        LocalWorkflow(Single).conf_activity('task', nested)


def test_lambda_activity_on_threads_is_fine():
    w = workflow(Single)
    w.conf_activity('task', lambda x: x + 1)
    assert timed_run(w, 1) == 2


@pytest.mark.parametrize('executor', EXECUTORS, ids=EXECUTOR_IDS)
def test_unserializable_argument_fails_that_task(executor):
    with pytest.raises(TaskError, match='serialize') as info:
        timed_run(workflow(PassesAnObject, executor, task=identity))
    assert 'task-0-0' in str(info.value)


def test_unserializable_argument_can_be_handled_by_the_body():
    good, reason = timed_run(workflow(HandlesBadInput, task=identity))
    assert good == 3 and 'serialize' in reason


@pytest.mark.parametrize('executor', EXECUTORS, ids=EXECUTOR_IDS)
def test_unserializable_result_fails_promptly(executor):
    # The original logged the error in a done-callback and hung forever.
    with pytest.raises(TaskError, match='serialize') as info:
        timed_run(workflow(Single, executor, task=returns_object))
    assert 'task-0-0' in str(info.value)


def test_unserializable_workflow_input_is_refused_before_running():
    with pytest.raises(TypeError, match='serialize'):
        workflow(Single, task=identity).run(object())


# -- configuration errors ---------------------------------------------------------------------

@pytest.mark.parametrize('name', ['123', 'for', 'abc!123', 'a-b', ''])
def test_invalid_dependency_names(name):
    w = LocalWorkflow(Single, executor=ThreadPoolExecutor)
    with pytest.raises(ValueError) as info:
        w.conf_activity(name, identity)
    assert repr(name) in str(info.value)
    with pytest.raises(ValueError):
        w.conf_workflow(name, LocalWorkflow(Single))


def test_duplicate_dependency_names():
    w = workflow(Single, task=identity)
    with pytest.raises(ValueError, match="'task'"):
        w.conf_activity('task', square)
    with pytest.raises(ValueError, match="'task'"):
        w.conf_workflow('task', LocalWorkflow(Single))
    assert w.specs['task'].target is identity


def test_non_callable_activity_and_non_workflow_child():
    w = LocalWorkflow(Single, executor=ThreadPoolExecutor)
    with pytest.raises(TypeError, match="'task'"):
        w.conf_activity('task', 5)
    with pytest.raises(TypeError, match='LocalWorkflow'):
        w.conf_workflow('task', identity)


@pytest.mark.parametrize('kwargs', [{'activity_workers': 0}, {'workflow_workers': 0},
                                    {'activity_workers': 1.5}, {'activity_workers': True},
                                    {'workflow_workers': True}, {'activity_workers': False}])
def test_bad_worker_counts(kwargs):
    with pytest.raises(ValueError, match='must be an integer greater than 0'):
        LocalWorkflow(Single, **kwargs)


RAN = []


def records_run(x):
    RAN.append(x)
    return x


def test_factory_that_does_not_accept_a_configured_dependency():
    # refused when it is configured, with the name it was probably meant to be
    del RAN[:]
    with pytest.raises(TypeError) as info:
        workflow(Single, task=records_run, tsak=records_run)
    assert str(info.value) == "the workflow Single takes no dependency 'tsak': did you mean 'task'?"
    with pytest.raises(TypeError, match="^the workflow Single takes no dependency 'extra': it "
                                        "takes 'task'$"):
        workflow(Single, task=records_run, extra=records_run)
    assert RAN == []


class Body:
    def __init__(self, task):
        self.task = task

    def __call__(self, n, scale=1, *, offset=0):
        return self.task(n) * scale + offset


@pytest.mark.parametrize('args, kwargs, problem', [
    ((), {}, "missing a required argument: 'n'"),
    ((1, 2, 3), {}, 'too many positional arguments'),
    ((1,), {'ofset': 2}, "got an unexpected keyword argument 'ofset'"),
])
def test_arguments_the_body_does_not_take_are_refused_before_the_run_starts(args, kwargs,
                                                                            problem):
    del RAN[:]
    w = workflow(Body, task=records_run)
    for start in (w.run, w.start):
        with pytest.raises(TypeError) as info:
            start(*args, **kwargs)
        assert str(info.value) == ('run() of the workflow Body: %s (its body takes (n, '
                                   'scale=1, *, offset=0))' % problem)
    assert RAN == []
    assert w.run(2, 3, offset=1) == 7


def test_a_factory_function_or_a_body_taking_anything_is_not_checked():
    def factory(task):
        return lambda *args: task(len(args))

    assert workflow(factory, task=records_run).run(1, 2) == 2
    assert workflow(Single, task=records_run).run(5) == 5


def test_an_argument_that_cannot_be_encoded_is_named_as_the_caller_wrote_it():
    w = workflow(Body, task=records_run)
    with pytest.raises(TypeError) as info:
        w.run(object())
    assert str(info.value).startswith('argument 1 of run(): cannot serialize an object: use ')
    assert 'give the workflow another transport' in str(info.value)
    with pytest.raises(TypeError) as info:
        w.run(1, [2, {'x': object()}])
    assert str(info.value).startswith("argument 2 of run(): cannot serialize an object at "
                                      "[1]['x']: ")
    with pytest.raises(TypeError) as info:
        w.start(1, offset={3: object()})
    assert str(info.value).startswith("keyword argument 'offset' of run(): cannot serialize "
                                      "an object at [3]: ")


def test_factory_that_misses_a_dependency():
    del RAN[:]
    w = workflow(TwoDeps, square=records_run)
    with pytest.raises(TypeError, match='other'):
        w.run()
    assert RAN == []


def test_child_factory_mismatch_is_found_before_the_parent_runs():
    del RAN[:]
    child = workflow(TwoDeps, square=records_run)
    parent = workflow(TwoDeps, executor=ThreadPoolExecutor)
    parent.conf_workflow('square', child)
    parent.conf_activity('other', records_run)
    with pytest.raises(TypeError):
        parent.run()
    assert RAN == []


# -- a child workflow that fails --------------------------------------------------------------

def test_failing_child_workflow_fails_the_parent():
    child = workflow(Single, task=boom)
    parent = workflow(Single)
    parent.conf_workflow('task', child)
    with pytest.raises(TaskError, match='boom 5'):
        timed_run(parent, 5)


# -- a worker process that dies ----------------------------------------------------------------

def test_dying_worker_fails_the_task_and_the_workflow_can_run_again(tmp_path):
    flag = str(tmp_path / 'died-once')
    w = workflow(Single, ProcessPoolExecutor, task=dies_the_first_time)
    with pytest.raises(TaskError) as info:
        timed_run(w, flag)
    assert 'died' in str(info.value)
    assert os.path.exists(flag)
    # The same LocalWorkflow runs again, on a healthy pool.
    assert timed_run(w, flag) == 'survived'


class DiesAmongOthers:
    def __init__(self, dies, square):
        self.dies, self.square = dies, square

    def __call__(self):
        return [self.dies()] + [self.square(i) for i in range(4)]


def test_dying_worker_among_other_activities_does_not_hang_the_run():
    w = workflow(DiesAmongOthers, ProcessPoolExecutor, dies=dies, square=square)
    with pytest.raises(TaskError, match='died'):
        timed_run(w)
    w.close()
    join_children()


# -- nothing left hanging ---------------------------------------------------------------------

def join_new_threads(before):
    for thread in threading.enumerate():
        if thread not in before and thread is not threading.current_thread():
            thread.join(timeout=PROMPT)
            assert not thread.is_alive(), thread


def join_children():
    """Wait (bounded) for every child process to exit.

    The pools' own threads reap their workers, so this waits on each child's sentinel
    (ready when it exits) instead of joining processes it does not own.
    """
    deadline = time.monotonic() + PROMPT
    for child in multiprocessing.active_children():
        try:
            sentinel = child.sentinel
        except ValueError:  # already closed: it has exited
            continue
        multiprocessing.connection.wait([sentinel], max(0, deadline - time.monotonic()))
        # The kernel closes a dying process's files (readying the sentinel) a moment
        # before it becomes a zombie: allow that moment, bounded.
        for _ in range(200):
            if process_gone(child.pid):
                break
            time.sleep(0.005)
        assert process_gone(child.pid), child


@pytest.mark.parametrize('executor', EXECUTORS, ids=EXECUTOR_IDS)
@pytest.mark.parametrize('factory, task, expected', [
    (Single, square, 9),
    (Single, boom, TaskError),
    (BodyRaises, identity, TaskError),
])
def test_nothing_left_running_after_run(executor, factory, task, expected):
    before = set(threading.enumerate())
    w = workflow(factory, executor, task=task)
    if expected is TaskError:
        with pytest.raises(TaskError):
            timed_run(w, 3)
    else:
        assert timed_run(w, 3) == expected
    w.close()  # the pools outlive a run, to be reused by the next one
    join_new_threads(before)
    join_children()


RELEASE = threading.Event()


def fast(x):
    return x


def slow(x):
    RELEASE.wait(PROMPT)
    return x


class FirstOfFastAndSlow:
    def __init__(self, fast, slow):
        self.fast, self.slow = fast, slow

    def __call__(self):
        return flowy.first(self.slow(1), self.fast(2))


def test_run_does_not_wait_for_abandoned_activities():
    RELEASE.clear()
    before = set(threading.enumerate())
    w = workflow(FirstOfFastAndSlow, fast=fast, slow=slow)
    try:
        assert timed_run(w) == 2
    finally:
        RELEASE.set()
    w.close()
    join_new_threads(before)


DONE = []


def slowish(x):
    time.sleep(0.2)
    DONE.append(x)
    return x


def test_run_with_wait_waits_for_abandoned_activities():
    del DONE[:]
    w = workflow(FirstOfFastAndSlow, fast=fast, slow=slowish)
    assert timed_run(w, _wait=True) == 2
    assert DONE == [1]


# -- Ctrl-C -------------------------------------------------------------------------------------

CTRL_C_SCRIPT = textwrap.dedent('''
    import os
    import time

    import flowy

    def sleeps():
        print('started', os.getpid(), flush=True)  # the worker shares the parent's stdout
        time.sleep(30)
        return 1

    class Single:
        def __init__(self, task):
            self.task = task

        def __call__(self):
            return self.task()

    if __name__ == '__main__':
        workflow = flowy.LocalWorkflow(Single)  # the default process pool
        workflow.conf_activity('task', sleeps)
        print(workflow.run())
''')


def test_ctrl_c_stops_a_process_pool_run_promptly(tmp_path):
    script = tmp_path / 'ctrl_c.py'
    script.write_text(CTRL_C_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        # Wait (bounded) for the activity to report that it is running in its worker.
        ready, _, _ = select.select([process.stdout], [], [], 2 * PROMPT)
        assert ready, 'the activity did not start within %d s' % (2 * PROMPT)
        started = process.stdout.readline().split()
        assert started[:1] == ['started'], started
        worker = int(started[1])
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=PROMPT)
        assert time.monotonic() - interrupted < PROMPT
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0
    assert 'KeyboardInterrupt' in err
    # The worker was terminated, not left sleeping for 30 s.  It is not our child, so
    # there is no event to wait on: poll, bounded.
    for _ in range(100):
        if process_gone(worker):
            break
        time.sleep(0.05)
    assert process_gone(worker), 'worker %d still running after Ctrl-C' % worker


def worker_pid():
    return os.getpid()


class Pid:
    def __init__(self, pid):
        self.pid = pid

    def __call__(self):
        return self.pid()


def test_pools_are_started_once_and_reused_by_later_runs():
    with LocalWorkflow(Pid, activity_workers=1) as w:
        w.conf_activity('pid', worker_pid)
        first = timed_run(w)
        assert first != os.getpid()
        assert timed_run(w) == first  # the same worker process served both runs
    with LocalWorkflow(Pid, activity_workers=1) as other:
        other.conf_activity('pid', worker_pid)
        assert timed_run(other) != first  # closed pools are not reused


def test_a_run_after_close_starts_new_pools():
    w = LocalWorkflow(Pid, activity_workers=1)
    w.conf_activity('pid', worker_pid)
    first = timed_run(w)
    w.close()
    assert timed_run(w) != first
    w.close()
