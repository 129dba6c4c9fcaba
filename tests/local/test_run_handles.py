"""Run handles, signals, timers, markers, cancellation and context on the local engine."""

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from waiting import PROMPT, process_gone

import flowy
from flowy import LocalWorkflow, TaskCancelled, TaskError
from flowy.local import RunEnded
from flowy.local.engine import Engine
from flowy.local.store import SQLiteStore

EXECUTORS = [pytest.param(ThreadPoolExecutor, id='threads'),
             pytest.param(ProcessPoolExecutor, id='processes')]

_gates = {}


def gate(name):
    return _gates.setdefault(name, threading.Event())


def inc(x):
    return x + 1


def held(name):
    """Return once the test opens the gate ``name`` (threads only)."""
    assert gate(name).wait(PROMPT), 'gate %s was never opened' % name
    return name


def until_cancelled(path):
    """Write this process's pid to ``path``, then heartbeat until told to stop."""
    with open(path, 'w') as stream:
        stream.write(str(os.getpid()))
    deadline = time.monotonic() + PROMPT
    while time.monotonic() < deadline:
        if flowy.heartbeat():
            with open(path + '.stopped', 'w') as stream:
                stream.write('stopped')
            return 'stopped'
        time.sleep(0.005)
    return 'never told to stop'


def thread_count():
    return threading.active_count()


class WaitsForGate:
    def __init__(self, held):
        self.held = held

    def __call__(self, name):
        return self.held(name)


def test_start_returns_at_once_and_result_waits_for_the_run():
    w = LocalWorkflow(WaitsForGate, executor=ThreadPoolExecutor)
    w.conf_activity('held', held)
    handle = w.start('start-1')
    assert not handle.done()
    with pytest.raises(TimeoutError, match='has not ended after 0.01 s'):
        handle.result(timeout=0.01)
    gate('start-1').set()
    assert handle.result(timeout=PROMPT) == 'start-1'
    assert handle.done()
    assert repr(handle).endswith('ended>')
    w.close()


class Approval:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self, request):
        answer = flowy.wait(flowy.first(flowy.wait_signal('approve'), flowy.sleep(PROMPT)))
        if answer is None:
            return 'expired'
        return [request, self.inc(answer)]


@pytest.mark.parametrize('executor', EXECUTORS)
def test_many_runs_live_at_once_and_each_gets_its_own_signals(executor):
    w = LocalWorkflow(Approval, executor=executor, activity_workers=2)
    w.conf_activity('inc', inc)
    handles = [w.start('r%d' % number) for number in range(5)]
    assert len({handle.id for handle in handles}) == 5
    for number, handle in reversed(list(enumerate(handles))):
        handle.signal('approve', number * 10)
    assert [handle.result(timeout=PROMPT) for handle in handles] == [
        ['r%d' % number, number * 10 + 1] for number in range(5)]
    w.close()


class SignalAfterCall:
    def __init__(self, held):
        self.held = held

    def __call__(self, name):
        first = flowy.wait(self.held(name))
        return [first, flowy.wait_signal('note'), flowy.wait_signal('note')]


def test_signals_that_arrive_before_the_body_waits_are_kept_in_order():
    w = LocalWorkflow(SignalAfterCall, executor=ThreadPoolExecutor)
    w.conf_activity('held', held)
    handle = w.start('kept')
    handle.signal('note', 'one')
    handle.signal('note', {'two': 2})
    gate('kept').set()
    assert handle.result(timeout=PROMPT) == ['kept', 'one', {'two': 2}]
    w.close()


def test_a_signal_to_an_ended_run_or_of_a_bad_value_is_refused():
    w = LocalWorkflow(Approval, executor=ThreadPoolExecutor)
    w.conf_activity('inc', inc)
    handle = w.start('x')
    with pytest.raises(TypeError, match="cannot send the signal 'approve' to run .*: its "
                                        'value cannot be serialized'):
        handle.signal('approve', object())
    with pytest.raises(ValueError, match='a signal name must have 1 to 256 characters'):
        handle.signal('', 1)
    handle.signal('approve', 1)
    assert handle.result(timeout=PROMPT) == ['x', 2]
    with pytest.raises(RunEnded, match='has ended: it takes no more signals'):
        handle.signal('approve', 2)
    assert handle.cancel() is False
    w.close()


class RunsUntilCancelled:
    def __init__(self, until_cancelled, inc):
        self.until_cancelled, self.inc = until_cancelled, inc

    def __call__(self, path):
        return [self.until_cancelled(path), self.inc(1)]


def _wait_for(path):
    deadline = time.monotonic() + PROMPT
    while not os.path.exists(path) or not open(path).read():
        assert time.monotonic() < deadline, '%s was never written' % path
        time.sleep(0.005)


def _cancellable(factory, executor):
    w = LocalWorkflow(factory, executor=executor)
    w.conf_activity('until_cancelled', until_cancelled)
    w.conf_activity('inc', inc)
    return w


@pytest.mark.parametrize('executor', EXECUTORS)
def test_cancelling_a_run_stops_its_activities_and_fails_it(executor, tmp_path):
    w = _cancellable(RunsUntilCancelled, executor)
    path = str(tmp_path / 'pid')
    handle = w.start(path)
    _wait_for(path)
    assert handle.cancel('no longer needed') is True
    with pytest.raises(TaskCancelled, match='^the run was cancelled: no longer needed$'):
        handle.result(timeout=PROMPT)
    if executor is ProcessPoolExecutor:  # its worker process is killed
        pid = int(open(path).read())
        deadline = time.monotonic() + PROMPT
        while not process_gone(pid):
            assert time.monotonic() < deadline, 'worker %d still alive' % pid
            time.sleep(0.005)
    else:  # a thread is told by its heartbeat
        _wait_for(path + '.stopped')
    w.close()


class CancelsItsCall:
    def __init__(self, until_cancelled, inc):
        self.until_cancelled, self.inc = until_cancelled, inc

    def __call__(self, path):
        slow = self.until_cancelled(path)
        started = flowy.wait(self.inc(0))  # the slow call has started meanwhile (maybe)
        flowy.cancel(slow)
        try:
            flowy.wait(slow)
        except TaskCancelled as exc:
            return [started, str(exc), exc.key, flowy.wait(self.inc(2))]
        return 'not cancelled'


@pytest.mark.parametrize('executor', EXECUTORS)
def test_a_cancelled_call_fails_with_task_cancelled_and_the_run_goes_on(executor, tmp_path):
    w = _cancellable(CancelsItsCall, executor)
    path = str(tmp_path / 'pid')
    result = w.start(path).result(timeout=PROMPT)
    assert result == [1, 'until_cancelled-0 was cancelled', 'until_cancelled-0-0', 3]
    w.close()


class ManyTimers:
    def __init__(self, thread_count):
        self.thread_count = thread_count

    def __call__(self, count):
        naps = [flowy.sleep(0.2) for _ in range(count)]
        threads = self.thread_count()
        flowy.wait(naps[-1])
        return [threads, naps.count(None)]


def test_timers_hold_no_thread():
    w = LocalWorkflow(ManyTimers, executor=ThreadPoolExecutor, activity_workers=2)
    w.conf_activity('thread_count', thread_count)
    threads, fired = w.run(300)
    assert threads < 30
    assert fired == 300
    w.close()


class WaitsForASignal:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        return flowy.wait(flowy.wait_signal('never'))


def test_a_run_nothing_can_signal_fails_instead_of_waiting_forever():
    w = LocalWorkflow(WaitsForASignal, executor=ThreadPoolExecutor)
    w.conf_activity('inc', inc)
    with pytest.raises(TaskError, match='nothing can send this run a signal: start it with '
                                        r'start\(\)'):
        w.run()
    w.close()


def test_a_started_run_waiting_for_a_signal_waits_until_cancelled():
    w = LocalWorkflow(WaitsForASignal, executor=ThreadPoolExecutor)
    w.conf_activity('inc', inc)
    handle = w.start()
    with pytest.raises(TimeoutError):
        handle.result(timeout=0.05)
    assert handle.cancel() is True
    with pytest.raises(TaskCancelled, match='^the run was cancelled$'):
        handle.result(timeout=PROMPT)
    w.close()


class Identity:
    def __init__(self, whoami, sub):
        self.whoami, self.sub = whoami, sub

    def __call__(self):
        body = flowy.context()
        return [[body.workflow, body.workflow_id, body.run_id], self.whoami(), self.sub()]


class Sub:
    def __init__(self, whoami):
        self.whoami = whoami

    def __call__(self):
        return self.whoami()


def whoami():
    found = flowy.context()
    return [found.workflow, found.workflow_id, found.run_id, found.key, found.attempt]


@pytest.mark.parametrize('executor', EXECUTORS)
def test_context_names_runs_and_calls(executor, tmp_path):
    sub = LocalWorkflow(Sub)
    sub.conf_activity('whoami', whoami)
    w = LocalWorkflow(Identity, executor=executor, store=str(tmp_path / 'runs.db'))
    w.conf_activity('whoami', whoami)
    w.conf_workflow('sub', sub)
    assert w.run(_id='who') == [
        ['Identity', 'who', 'who'],
        ['Identity', 'who', 'who', 'whoami-0-0', 0],
        ['Sub', 'who/sub-0-0', 'who/sub-0-0', 'whoami-0-0', 0]]
    w.close()


class Stored:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        flowy.marker('waiting', {'for': 'go'})
        value = flowy.wait_signal('go')
        return self.inc(value)


@pytest.fixture
def quick_inbox(monkeypatch):
    monkeypatch.setattr(Engine, 'inbox_every', 0.01)


def test_another_process_signals_and_cancels_a_stored_run_through_the_store(
        tmp_path, quick_inbox):
    path = str(tmp_path / 'runs.db')
    w = LocalWorkflow(Stored, executor=ThreadPoolExecutor, store=path)
    w.conf_activity('inc', inc)
    handle = w.start(_id='signalled')
    with SQLiteStore(path) as other:  # as another process would
        assert other.send('signalled', 'signal', 'go', '41') == 'queued'
    assert handle.result(timeout=PROMPT) == 42
    with SQLiteStore(path) as store:
        calls = {call.key: call for call in store.calls('signalled')}
        assert calls['@marker-0'].data == '{"for":"go"}'
        assert calls['@signal-go-0'].data == '41'
        assert not store.inbox(['signalled'])
    handle = w.start(_id='cancelled')
    with SQLiteStore(path) as other:
        other.send('cancelled', 'cancel', data='from the command line')
    with pytest.raises(TaskCancelled, match='the run was cancelled: from the command line'):
        handle.result(timeout=PROMPT)
    with SQLiteStore(path) as store:
        assert store.run('cancelled').state == 'failed'
    w.close()


SCRIPT = '''
import os, signal, sys
from concurrent.futures import ThreadPoolExecutor
import flowy

def inc(x):
    return x + 1

def killer(path):
    if not os.path.exists(path):
        open(path, 'w').close()
        os.kill(os.getpid(), signal.SIGKILL)
    return 'resumed'

class Naps:
    def __init__(self, inc, killer):
        self.inc, self.killer = inc, killer

    def __call__(self, path):
        start = flowy.now()
        nap = flowy.sleep(0.3)
        self.killer(path)
        flowy.wait(nap)
        return [start.timestamp(), self.inc(1)]

if __name__ == '__main__':
    w = flowy.LocalWorkflow(Naps, executor=ThreadPoolExecutor, store=sys.argv[1])
    w.conf_activity('inc', inc)
    w.conf_activity('killer', killer)
    print(w.run(sys.argv[2], _id='naps'))
'''


def test_a_timer_and_now_survive_a_killed_process(tmp_path):
    import json
    import subprocess
    import sys

    script = tmp_path / 'naps.py'
    script.write_text(SCRIPT)
    store, marker = str(tmp_path / 'runs.db'), str(tmp_path / 'killed')
    environ = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(flowy.__file__)))
    killed = subprocess.run([sys.executable, str(script), store, marker], env=environ,
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    with SQLiteStore(store) as records:
        calls = {call.key: call for call in records.calls('naps')}
        assert calls['@sleep-0'].state == 'running'
        recorded_now = json.loads(calls['@now-0'].data)
    resumed = subprocess.run([sys.executable, str(script), store, marker], env=environ,
                             capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    seen_now, two = json.loads(resumed.stdout)
    assert two == 2
    assert abs(seen_now - recorded_now) < 1e-5  # a datetime keeps microseconds
    with SQLiteStore(store) as records:
        calls = {call.key: call for call in records.calls('naps')}
        assert calls['@sleep-0'].state == 'completed'
        assert calls['@sleep-0'].finished >= calls['@sleep-0'].started


class Traced:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        flowy.marker('start', {'a': 1})
        nap = flowy.sleep(0.01)
        first = self.inc(1)
        flowy.cancel(self.inc(first))  # cancelled while it waits for its argument
        return [flowy.wait(nap), first, flowy.wait_signal('go')]


def test_timers_markers_signals_and_cancelled_calls_are_traced():
    from flowy.local import Tracer

    w = LocalWorkflow(Traced, executor=ThreadPoolExecutor)
    w.conf_activity('inc', inc)
    tracer = Tracer()
    handle = w.start(_trace=tracer)
    handle.signal('go', 5)
    assert handle.result(timeout=PROMPT) == [None, 2, 5]
    dot = tracer.to_dot()
    for line in ("@marker-0\\ndecision 1\\n= {'a': 1}", '@sleep-0\\ndecision 1\\nfired',
                 'inc-1-0\\ndecision 1\\ncancelled', 'reason: inc-1 was cancelled',
                 '@signal-go-0\\ndecision ', 'result: 5'):
        assert line in dot
    w.close()
