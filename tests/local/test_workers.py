"""Activities on flowy's own worker processes: timeouts that stop one worker, workers
that die, heartbeats that learn the result is unwanted, and no worker outliving its parent.

Activities are module level (the pool pickles them by reference).  An activity that
must outlive something waits on a file another one writes, always with a deadline.
"""

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from waiting import PROMPT, bounded_run, process_gone

import flowy
from flowy import LocalWorkflow, TaskError, TaskTimedout, first, wait
from flowy.local.store import SQLiteStore
from flowy.local.workers import RemoteTraceback


def hang():
    threading.Event().wait()  # killed by the pool when it times out


def wait_for_file(path):
    deadline = time.monotonic() + PROMPT
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError('%s never appeared' % path)
        time.sleep(0.01)


def hangs_the_first_time(directory):
    pid_file = os.path.join(directory, 'hung-pid')
    if not os.path.exists(pid_file):
        with open(pid_file + '.tmp', 'w') as stream:
            stream.write(str(os.getpid()))
        os.rename(pid_file + '.tmp', pid_file)
        hang()
    return 'second attempt'


def outlives_the_hung_worker(directory):
    """In flight while the hung worker is killed; ends once it has been."""
    pid_file = os.path.join(directory, 'hung-pid')
    wait_for_file(pid_file)
    with open(pid_file) as stream:
        pid = int(stream.read())
    deadline = time.monotonic() + PROMPT
    while not process_gone(pid):
        if time.monotonic() > deadline:
            raise TimeoutError('the hung worker %d was not stopped' % pid)
        time.sleep(0.01)
    return 'still here in %d' % os.getpid()


def goes_silent_the_first_time(directory):
    marker = os.path.join(directory, 'silent')
    if not os.path.exists(marker):
        open(marker, 'w').close()
        for _ in range(3):
            flowy.heartbeat({'step': _})
        hang()
    return 'second attempt'


def dies_the_first_time(directory, how):
    marker = os.path.join(directory, 'died')
    if not os.path.exists(marker):
        with open(marker + '.tmp', 'w') as stream:
            stream.write(str(os.getpid()))
        os.rename(marker + '.tmp', marker)
        if how == 'exit':
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    return 'survived'


def boom(x):
    raise ValueError('boom %s' % x)


def fast():
    return 'fast'


def heartbeats_until_told(directory):
    wait_for_file(os.path.join(directory, 'go'))
    deadline = time.monotonic() + PROMPT
    while time.monotonic() < deadline:
        if flowy.heartbeat():
            open(os.path.join(directory, 'told'), 'w').close()
            return 'stopped early'
        time.sleep(0.01)
    return 'never told'


class Both:
    def __init__(self, one, other):
        self.one, self.other = one, other

    def __call__(self, directory):
        one, other = self.one(directory), self.other(directory)  # both in flight at once
        return wait(one), wait(other)


class Three:
    """Starts ``one`` and ``other`` at once, then ``last``; says how each ended."""

    def __init__(self, one, other, last):
        self.one, self.other, self.last = one, other, last

    def __call__(self, directory, how):
        results = self.one(directory, how), self.other(directory, how)
        return tuple(map(ending, results)) + (wait(self.last()),)


def ending(result):
    """How a call ended: its value, or 'timeout: ...' or 'error: ...' with the error."""
    try:
        return wait(result)
    except TaskTimedout as exc:
        return 'timeout: %s' % exc
    except TaskError as exc:
        return 'error: %s' % exc


class One:
    def __init__(self, task):
        self.task = task

    def __call__(self, *args):
        return ending(self.task(*args))


class FastOrSlow:
    def __init__(self, fast, slow):
        self.fast, self.slow = fast, slow

    def __call__(self, directory):
        return first(self.fast(), self.slow(directory))


def processes(factory, workers=2, **kwargs):
    return LocalWorkflow(factory, executor=ProcessPoolExecutor, activity_workers=workers,
                         **kwargs)


@pytest.fixture
def closing():
    made = []
    yield made.append
    for w in made:
        w.close()


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_a_timed_out_attempt_stops_only_its_worker_and_is_retried(tmp_path, closing, driver):
    w = processes(Both, driver=driver)
    closing(w)
    w.conf_activity('one', hangs_the_first_time, timeout=0.5, retry=(0, 0))
    w.conf_activity('other', outlives_the_hung_worker)
    result = bounded_run(w, str(tmp_path))
    assert result[0] == 'second attempt'
    assert result[1].startswith('still here')
    with open(tmp_path / 'hung-pid') as stream:
        assert process_gone(int(stream.read()))
    assert len(w._pools.current.activity.pids) == 2  # the killed worker was replaced


def test_the_last_timed_out_attempt_is_a_timeout_naming_its_kind(tmp_path, closing):
    w = processes(One)
    closing(w)
    w.conf_activity('task', hang, timeout=0.3)
    assert bounded_run(w) == ('timeout: task-0 timed out on all 1 attempts: task-0-0 timed '
                              'out: ran longer than its timeout of 0.3 s (start-to-close)')


def test_a_heartbeat_timeout_stops_a_silent_worker(tmp_path, closing):
    w = processes(One)
    closing(w)
    w.conf_activity('task', goes_silent_the_first_time, heartbeat=0.4)
    result = bounded_run(w, str(tmp_path))
    assert result == ('timeout: task-0 timed out on all 1 attempts: task-0-0 timed out: no '
                      'heartbeat for 0.4 s (heartbeat timeout)')
    os.remove(tmp_path / 'silent')
    w = processes(One)
    closing(w)
    w.conf_activity('task', goes_silent_the_first_time, heartbeat=0.4, retry=(0, 0))
    assert bounded_run(w, str(tmp_path)) == 'second attempt'


@pytest.mark.parametrize('how, said', [('exit', 'exit code 3'), ('kill', 'killed by SIGKILL')])
def test_a_dying_worker_is_retried_as_a_timeout_and_replaced(tmp_path, closing, how, said):
    w = processes(One)
    closing(w)
    w.conf_activity('task', dies_the_first_time, retry=(0, 0))
    assert bounded_run(w, str(tmp_path), how) == 'survived'
    os.remove(tmp_path / 'died')
    w = processes(One)
    closing(w)
    w.conf_activity('task', dies_the_first_time)
    assert bounded_run(w, str(tmp_path), how) == (
        'timeout: task-0 timed out on all 1 attempts: task-0-0 timed out: the worker process '
        'running it died (%s) before the activity ended' % said)
    assert len(w._pools.current.activity.pids) == 2


def test_a_dying_worker_fails_only_its_own_call(tmp_path, closing):
    w = processes(Three)
    closing(w)

    w.conf_activity('one', dies_the_first_time)
    # 'other' is in flight when the first worker dies, and ends after it has died.
    w.conf_activity('other', outlives_the_dead_worker)
    w.conf_activity('last', fast)
    result = bounded_run(w, str(tmp_path), 'kill')
    assert result[0].endswith('one-0-0 timed out: the worker process running it died '
                              '(killed by SIGKILL) before the activity ended')
    assert result[1:] == ('fine', 'fast')


def outlives_the_dead_worker(directory, how):
    marker = os.path.join(directory, 'died')
    wait_for_file(marker)
    with open(marker) as stream:
        pid = int(stream.read())
    deadline = time.monotonic() + PROMPT
    while not process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return 'fine' if process_gone(pid) else 'the other worker is still alive'


def test_remote_tracebacks_travel_with_failures(closing):
    w = processes(Unprotected)
    closing(w)
    w.conf_activity('task', boom)
    with pytest.raises(TaskError, match='boom 7') as caught:
        bounded_run(w, 7)
    remote = caught.value
    while remote is not None and not isinstance(remote, RemoteTraceback):
        remote = remote.__cause__
    assert remote is not None
    assert 'in boom' in remote.text and 'ValueError: boom 7' in remote.text


def test_heartbeat_tells_a_worker_its_run_has_ended(tmp_path, closing):
    w = processes(FastOrSlow)
    closing(w)
    w.conf_activity('fast', fast)
    w.conf_activity('slow', heartbeats_until_told)
    assert bounded_run(w, str(tmp_path)) == 'fast'
    open(tmp_path / 'go', 'w').close()
    deadline = time.monotonic() + PROMPT
    while not os.path.exists(tmp_path / 'told') and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.path.exists(tmp_path / 'told')


def test_a_child_keeps_its_activity_timeouts_on_the_parents_worker_processes(closing):
    child = LocalWorkflow(One, executor=ThreadPoolExecutor)
    child.conf_activity('task', hang, timeout=0.3)
    parent = processes(Unprotected)
    closing(parent)
    parent.conf_workflow('task', child)
    assert bounded_run(parent) == ('timeout: task-0 timed out on all 1 attempts: task-0-0 '
                                   'timed out: ran longer than its timeout of 0.3 s '
                                   '(start-to-close)')


class Unprotected:
    def __init__(self, task):
        self.task = task

    def __call__(self, *args):
        return self.task(*args)


def test_other_process_pools_still_refuse_timeouts():
    class MyPool(ProcessPoolExecutor):
        pass

    w = LocalWorkflow(One, executor=MyPool)
    with pytest.raises(ValueError, match='executor=ProcessPoolExecutor'):
        w.conf_activity('task', len, timeout=1)


WORKERS_OF_A_KILLED_PARENT = textwrap.dedent('''
    import os, sys, threading
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    from flowy import LocalWorkflow, wait

    def report_and_hang(directory, n):
        path = os.path.join(directory, 'pid-%d' % n)
        with open(path + '.tmp', 'w') as stream:
            stream.write(str(os.getpid()))
        os.rename(path + '.tmp', path)
        threading.Event().wait()

    class Two:
        def __init__(self, task):
            self.task = task

        def __call__(self, directory):
            return wait(self.task(directory, 0)), wait(self.task(directory, 1))

    if __name__ == '__main__':
        w = LocalWorkflow(Two, executor=ProcessPoolExecutor, activity_workers=3)
        w.conf_activity('task', report_and_hang)
        w.run(sys.argv[1])
''')


def test_workers_end_when_their_parent_is_killed(tmp_path):
    script = tmp_path / 'parent.py'
    script.write_text(WORKERS_OF_A_KILLED_PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    children = []
    try:
        deadline = time.monotonic() + PROMPT
        while not os.path.exists(tmp_path / 'pid-0') and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(tmp_path / 'pid-0') as stream:
            busy = int(stream.read())
        with open('/proc/%d/task/%d/children' % (parent.pid, parent.pid)) as stream:
            children = [int(pid) for pid in stream.read().split()]
        assert busy in children and len(children) == 3
        parent.kill()
        parent.wait(PROMPT)
        deadline = time.monotonic() + PROMPT
        while not all(map(process_gone, children)) and time.monotonic() < deadline:
            time.sleep(0.01)
        # Busy or idle, no worker goes on once its parent has died.
        assert all(map(process_gone, children))
    finally:
        parent.kill()
        parent.wait(PROMPT)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_durable_run_records_the_attempt_whose_worker_died(tmp_path, closing):
    store = str(tmp_path / 'runs.db')
    w = processes(One, store=store)
    closing(w)
    w.conf_activity('task', dies_the_first_time, retry=(0, 0))
    assert bounded_run(w, str(tmp_path), 'kill', _id='job') == 'survived'
    reader = SQLiteStore(store)
    try:
        calls = reader.calls('job')
    finally:
        reader.close()
    assert [(call.key, call.state) for call in calls] == [
        ('task-0-0', 'timedout'), ('task-0-1', 'completed')]
    assert 'killed by SIGKILL' in calls[0].reason
    # The finished run answers from the store: nothing runs again.
    os.remove(tmp_path / 'died')
    assert bounded_run(w, str(tmp_path), 'kill', _id='job') == 'survived'
    assert not os.path.exists(tmp_path / 'died')


# -- any mix of endings, in any order ---------------------------------------------------------

def behaves(how, i, directory):
    """One call of the property test below: ends as ``how`` says.

    A call that ends its worker process first leaves the process's pid in ``directory``.
    """
    if how in ('exit', 'kill', 'hang'):
        with open(os.path.join(directory, str(os.getpid())), 'w'):
            pass
    if how == 'fail':
        raise ValueError('failed %d' % i)
    if how == 'exit':
        os._exit(5)
    if how == 'kill':
        os.kill(os.getpid(), signal.SIGKILL)
    if how == 'hang':
        hang()
    if how == 'beat':
        for _ in range(3):
            flowy.heartbeat()
        return 'beat %d' % i
    return 'ok %d' % i


class Plan:
    def __init__(self, act):
        self.act = act

    def __call__(self, plan, directory):
        results = [self.act(how, i, directory)  # all in flight at once
                   for i, how in enumerate(plan)]
        return [ending(result) for result in results]


def expected_ending(how, i):
    if how in ('ok', 'beat'):
        return '%s %d' % (how, i)
    if how == 'fail':
        return 'error: act-%d-0 failed: ValueError: failed %d' % (i, i)
    if how == 'hang':
        return 'timeout: act-%d timed out on all 1 attempts: act-%d-0 timed out: ran longer ' \
               'than its timeout of 0.5 s (start-to-close)' % (i, i)
    died = 'exit code 5' if how == 'exit' else 'killed by SIGKILL'
    return 'timeout: act-%d timed out on all 1 attempts: act-%d-0 timed out: the worker ' \
           'process running it died (%s) before the activity ended' % (i, i, died)


@pytest.fixture(scope='module')
def plan_runner():
    w = processes(Plan, workers=3)
    w.conf_activity('act', behaves, timeout=0.5)
    yield w
    w.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(['ok', 'fail', 'exit', 'kill', 'hang', 'beat']),
                min_size=1, max_size=8))
def test_every_call_ends_as_it_should_whatever_the_others_do(plan_runner, plan):
    directory = tempfile.mkdtemp()
    try:
        assert bounded_run(plan_runner, plan, directory, _within=30) == [
            expected_ending(how, i) for i, how in enumerate(plan)]
        doomed = {int(name) for name in os.listdir(directory)}
    finally:
        shutil.rmtree(directory)
    # A killed worker (maybe still dying as run() returns) is replaced by the pool's
    # reader thread: the pool is whole again soon after, never smaller for long.
    pool = plan_runner._pools.current.activity
    deadline = time.monotonic() + PROMPT
    while doomed & set(pool.pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(pool.pids) == 3 and not any(map(process_gone, pool.pids))


def test_a_failure_of_the_pool_itself_fails_the_calls_instead_of_hanging(
        tmp_path, closing, monkeypatch, caplog):
    from flowy.local import workers

    def broken(self, worker):
        raise RuntimeError('a bug in the pool')

    w = processes(Both)
    closing(w)
    w.conf_activity('one', outlives_the_hung_worker)  # waits: still running when it breaks
    w.conf_activity('other', fast_with_argument)  # its outcome makes the pool fail
    monkeypatch.setattr(workers.WorkerPool, '_receive', broken)
    with pytest.raises(TaskError, match='the local engine failed while running this '
                                        'activity on a worker process: a bug in the pool'):
        bounded_run(w, str(tmp_path))
    assert 'the worker pool of the local engine failed' in caplog.text


def fast_with_argument(anything):
    return 'fast'


class _Outcomes:
    """Stands for a run's ProcessFeeder: collects what the pool delivers."""

    def __init__(self):
        self.delivered = []
        self.arrived = threading.Event()

    def started(self, call):
        pass

    def ended(self, call):
        pass

    def deliver(self, outcome):
        self.delivered.append(outcome)
        self.arrived.set()


@pytest.mark.parametrize('method', ['spawn', 'forkserver'])
def test_the_pool_works_with_every_start_method(method):
    # Python 3.14 starts workers with forkserver by default: nothing may rely on fork.
    from flowy.config import check_transport
    from flowy.local import workers

    transport = check_transport(None)
    pool = workers.WorkerPool(1, multiprocessing.get_context(method))
    try:
        feeder = _Outcomes()
        message = (fast_with_argument, transport, 'task-0-0', transport.dumps(((1,), {})),
                   workers.BEAT_EVERY, ('W', 'w-1', 'w-1'))
        pool.submit(workers._Call(feeder, None, 'task-0-0', message, None))
        assert feeder.arrived.wait(PROMPT)
        assert feeder.delivered == [(None, 'task-0-0', transport.dumps('fast'), None, None)]
    finally:
        pool.terminate_workers()
        pool.shutdown(wait=True)
