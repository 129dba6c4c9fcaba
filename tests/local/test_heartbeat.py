"""flowy.heartbeat(): nothing outside an engine; on the local engine's threads it tells a
long activity once nobody will read its result; on processes it cannot, and says False.

Every wait is bounded by PROMPT; nothing here depends on a sleep being long enough.
"""

import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import flowy
from flowy import LocalWorkflow, TaskError, restart, wait
from flowy.heartbeat import encode_details, reporting

PROMPT = 10  # seconds: a generous bound for "soon" (the real cost is milliseconds)
DRIVERS = ['cached', 'replay']


def beat(details):  # module level: a process pool pickles it by reference
    return flowy.heartbeat(details)


class Circular(list):
    def __init__(self):
        super().__init__([self])


DETAILS = {  # built in the activity: some of them could not travel as its argument
    'none': lambda: None,
    'limit': lambda: 'x' * 2048,
    'json at the limit': lambda: ['x' * 2044],
    'too long': lambda: 'x' * 2049,
    'json too long': lambda: {'log': 'x' * 2048},
    'not json': object,
    'circular': Circular,
}


def beat_with(kind):
    """What heartbeat(details) does with the details named ``kind``."""
    try:
        return flowy.heartbeat(DETAILS[kind]())
    except (TypeError, ValueError) as exc:
        return '%s: %s' % (type(exc).__name__, exc)


class One:
    def __init__(self, task):
        self.task = task

    def __call__(self, *args):
        return self.task(*args)


def until_told(saw_end, started=None):
    """An activity that heartbeats until it is told to stop (or PROMPT runs out)."""
    def slow():
        if started is not None:
            started.set()
        deadline = time.monotonic() + PROMPT
        while time.monotonic() < deadline:
            if flowy.heartbeat({'working': True}):
                saw_end.set()
                return 'told to stop'
            time.sleep(0.001)
        return 'never told'
    return slow


# -- the core: no engine ----------------------------------------------------------------------

def test_outside_any_engine_it_does_nothing_and_says_false():
    assert flowy.heartbeat() is False
    assert flowy.heartbeat('50%') is False
    assert flowy.heartbeat(object()) is False  # details are not even looked at


def test_a_workflow_run_as_plain_python_gets_false():
    assert One(beat)('progress') is False


def test_a_reporter_answers_within_its_block_only():
    seen = []

    def reporter(details):
        seen.append(details)
        return len(seen) > 1

    with reporting(reporter):
        assert flowy.heartbeat('a') is False
        assert flowy.heartbeat({'b': 2}) is True
        with reporting(lambda details: 0):  # nested: the inner one answers, as a bool
            assert flowy.heartbeat() is False
        assert flowy.heartbeat() is True
    assert seen == ['a', {'b': 2}, None]
    assert flowy.heartbeat('after') is False


def test_a_reporter_is_restored_when_the_activity_raises():
    with pytest.raises(RuntimeError):
        with reporting(lambda details: True):
            raise RuntimeError('boom')
    assert flowy.heartbeat() is False


def test_a_reporter_belongs_to_its_thread():
    answers = []
    with reporting(lambda details: True):
        other = threading.Thread(target=lambda: answers.append(flowy.heartbeat()))
        other.start()
        other.join(PROMPT)
        assert flowy.heartbeat() is True
    assert answers == [False]


def test_errors_of_the_reporter_reach_the_activity():
    def reporter(details):
        raise ValueError('details too long')

    with reporting(reporter), pytest.raises(ValueError, match='too long'):
        flowy.heartbeat('x' * 5000)


def test_a_reporter_must_be_callable():
    with pytest.raises(TypeError, match='callable'):
        reporting('not a function')


def test_details_are_checked_as_swf_checks_them():
    assert encode_details(None) is None
    assert encode_details('x' * 2048) == 'x' * 2048
    assert encode_details({'done': 5, 'of': [1, 'é']}) == '{"done":5,"of":[1,"é"]}'
    with pytest.raises(ValueError, match='2049 characters long; at most 2048'):
        encode_details('x' * 2049)
    with pytest.raises(ValueError, match='at most 2048'):
        encode_details(['x' * 2046])
    with pytest.raises(TypeError, match='string or a value JSON can encode; got object'):
        encode_details(object())
    with pytest.raises(TypeError, match='got Circular'):
        encode_details(Circular())


# -- the local engine on threads -------------------------------------------------------------

@pytest.mark.parametrize('driver', DRIVERS)
@pytest.mark.parametrize('details', [None, 'half done', {'done': 5, 'of': 10}])
def test_on_threads_a_running_activity_is_not_told_to_stop(driver, details):
    w = LocalWorkflow(One, executor=ThreadPoolExecutor, driver=driver)
    w.conf_activity('task', beat)
    assert w.run(details) is False


@pytest.mark.parametrize('driver', DRIVERS)
def test_on_threads_an_activity_learns_that_the_workflow_finished(driver):
    saw_end, started = threading.Event(), threading.Event()

    class Abandons:
        def __init__(self, slow, quick):
            self.slow, self.quick = slow, quick

        def __call__(self):
            self.slow()  # never used: the workflow finishes without it
            return self.quick()

    w = LocalWorkflow(Abandons, activity_workers=2, executor=ThreadPoolExecutor, driver=driver)
    w.conf_activity('slow', until_told(saw_end, started))
    w.conf_activity('quick', lambda: started.wait(PROMPT) and 'quick')
    assert w.run() == 'quick'
    assert saw_end.wait(PROMPT)


@pytest.mark.parametrize('driver', DRIVERS)
def test_on_threads_an_activity_learns_that_the_workflow_failed(driver):
    saw_end, started = threading.Event(), threading.Event()

    def boom():
        started.wait(PROMPT)
        raise ValueError('boom')

    class Fails:
        def __init__(self, slow, boom):
            self.slow, self.boom = slow, boom

        def __call__(self):
            self.slow()
            return self.boom()

    w = LocalWorkflow(Fails, activity_workers=2, executor=ThreadPoolExecutor, driver=driver)
    w.conf_activity('slow', until_told(saw_end, started))
    w.conf_activity('boom', boom)
    with pytest.raises(TaskError, match='boom'):
        w.run()
    assert saw_end.wait(PROMPT)


@pytest.mark.parametrize('driver', DRIVERS)
def test_on_threads_an_activity_of_a_finished_child_is_told_while_the_parent_runs(driver):
    saw_end, started = threading.Event(), threading.Event()

    class Child:
        def __init__(self, slow, ready):
            self.slow, self.ready = slow, ready

        def __call__(self):
            self.slow()  # abandoned when the child returns
            return self.ready()

    class Parent:
        def __init__(self, child, check):
            self.child, self.check = child, check

        def __call__(self):
            wait(self.child())
            return self.check()  # runs while the child's activity is still going

    child = LocalWorkflow(Child, executor=ThreadPoolExecutor)  # runs on the parent's pools
    child.conf_activity('slow', until_told(saw_end, started))
    child.conf_activity('ready', lambda: started.wait(PROMPT))
    parent = LocalWorkflow(Parent, activity_workers=3, executor=ThreadPoolExecutor,
                           driver=driver)
    parent.conf_workflow('child', child)
    parent.conf_activity('check', lambda: saw_end.wait(PROMPT))
    assert parent.run() is True


@pytest.mark.parametrize('driver', DRIVERS)
def test_on_threads_an_activity_of_a_restarted_run_is_told(driver):
    saw_end, started = threading.Event(), threading.Event()

    class Restarts:
        def __init__(self, slow, ready, check):
            self.slow, self.ready, self.check = slow, ready, check

        def __call__(self, again):
            if again:
                return self.check()
            self.slow()
            wait(self.ready())
            return restart(True)

    w = LocalWorkflow(Restarts, activity_workers=3, executor=ThreadPoolExecutor,
                      driver=driver)
    w.conf_activity('slow', until_told(saw_end, started))
    w.conf_activity('ready', lambda: started.wait(PROMPT))
    w.conf_activity('check', lambda: saw_end.wait(PROMPT))
    assert w.run(False) is True


def test_on_threads_the_heartbeat_is_gone_once_the_activity_returns():
    answers = []

    def probe():
        answers.append(flowy.heartbeat())
        return 1

    w = LocalWorkflow(One, executor=ThreadPoolExecutor)
    w.conf_activity('task', probe)
    assert w.run() == 1
    assert answers == [False]
    assert flowy.heartbeat() is False  # the calling thread never had a reporter


# -- details: checked on every executor, as on SWF ----------------------------------------------

EXPECTED = {
    'none': False,
    'limit': False,
    'json at the limit': False,
    'too long': 'ValueError: heartbeat details are 2049 characters long; at most 2048 are '
                'allowed (the limit of Amazon SWF)',
    'json too long': 'ValueError: heartbeat details are 2058 characters long; at most 2048 '
                     'are allowed (the limit of Amazon SWF)',
    'not json': 'TypeError: heartbeat details must be a string or a value JSON can encode; '
                'got object: Object of type object is not JSON serializable',
    'circular': 'TypeError: heartbeat details must be a string or a value JSON can encode; '
                'got Circular: Circular reference detected',
}


@pytest.mark.parametrize('executor', [ThreadPoolExecutor, ProcessPoolExecutor],
                         ids=['threads', 'processes'])
@pytest.mark.parametrize('kind', sorted(EXPECTED))
def test_details_swf_would_refuse_are_refused_locally(executor, kind):
    w = LocalWorkflow(One, activity_workers=1, executor=executor)
    w.conf_activity('task', beat_with)
    assert w.run(kind) == EXPECTED[kind]


# -- the local engine on processes -----------------------------------------------------------

def test_on_processes_a_heartbeat_says_false():
    # A process cannot see the run's state: the documented limitation.
    w = LocalWorkflow(One, activity_workers=1, executor=ProcessPoolExecutor)
    w.conf_activity('task', beat)
    assert w.run({'done': 1}) is False
