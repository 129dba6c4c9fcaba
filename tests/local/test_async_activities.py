"""``async def`` activities on the local engine: one asyncio loop, many calls at once."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from waiting import PROMPT

import flowy
from flowy import LocalWorkflow, parallel_reduce

EXECUTORS = [pytest.param(ThreadPoolExecutor, id='threads'),
             pytest.param(None, id='processes')]

STOPPED = {}
STARTED = {}


async def nap(i, seconds=0.05):
    await asyncio.sleep(seconds)
    return i


async def whoami():
    found = flowy.context()
    return [found.workflow, found.key, found.attempt, flowy.heartbeat({'at': 1})]


async def fails(message):
    await asyncio.sleep(0)
    raise ValueError(message)


async def unserializable():
    return object()


async def until_stopped(name):
    """Awaits until its task is cancelled (a timeout, flowy.cancel); records that."""
    if name in STARTED:
        STARTED[name].set()
    try:
        await asyncio.sleep(PROMPT)
    except asyncio.CancelledError:
        STOPPED[name].set()
        raise
    return 'never stopped'


def add(a, b):
    return a + b


def thread_count():
    return threading.active_count()


def workflow(factory, executor, **activities):
    w = LocalWorkflow(factory, executor=executor) if executor else LocalWorkflow(factory)
    for dep, func in activities.items():
        w.conf_activity(dep, func)
    return w


class Naps:
    def __init__(self, nap, whoami, thread_count):
        self.nap, self.whoami, self.thread_count = nap, whoami, thread_count

    def __call__(self, n):
        naps = [self.nap(i) for i in range(n)]
        threads = self.thread_count()
        return [parallel_reduce(add, naps), self.whoami(), flowy.wait(threads)]


@pytest.mark.parametrize('executor', EXECUTORS)
def test_many_coroutine_calls_wait_at_once_on_one_loop(executor):
    with workflow(Naps, executor, nap=nap, whoami=whoami, thread_count=thread_count) as w:
        total, identity, threads = w.run(2000)
    assert total == sum(range(2000))
    assert identity == ['Naps', 'whoami-0-0', 0, False]
    assert threads < 40  # 2,000 calls waiting, not a thread each


class Fails:
    def __init__(self, fails, unserializable):
        self.fails, self.unserializable = fails, unserializable

    def __call__(self):
        errors = []
        for result in (self.fails('bad input'), self.unserializable()):
            try:
                flowy.wait(result)
            except flowy.TaskError as exc:
                errors.append(str(exc))
        return errors


def test_a_coroutine_that_raises_or_returns_what_cannot_travel_fails_its_call():
    with workflow(Fails, ThreadPoolExecutor, fails=fails, unserializable=unserializable) as w:
        errors = w.run()
    assert 'bad input' in errors[0]
    assert 'cannot serialize the result of unserializable-0-0' in errors[1]


class TimesOut:
    def __init__(self, until_stopped):
        self.until_stopped = until_stopped

    def __call__(self, name):
        try:
            return flowy.wait(self.until_stopped(name))
        except flowy.TaskTimedout as exc:
            return str(exc)


def test_a_coroutine_that_times_out_is_cancelled_where_it_awaits():
    STOPPED['timeout'] = threading.Event()
    w = LocalWorkflow(TimesOut, executor=ThreadPoolExecutor)
    w.conf_activity('until_stopped', until_stopped, timeout=0.05)
    with w:
        assert 'timed out' in w.run('timeout')
    assert STOPPED['timeout'].wait(PROMPT)


class Cancels:
    def __init__(self, until_stopped, nap):
        self.until_stopped, self.nap = until_stopped, nap

    def __call__(self, name):
        slow = self.until_stopped(name)
        flowy.wait(self.nap(1))
        flowy.cancel(slow)
        try:
            flowy.wait(slow)
        except flowy.TaskCancelled as exc:
            return str(exc)


@pytest.mark.parametrize('executor', EXECUTORS)
def test_a_cancelled_coroutine_call_is_cancelled_where_it_awaits(executor):
    STOPPED['cancel'] = threading.Event()
    with workflow(Cancels, executor, until_stopped=until_stopped, nap=nap) as w:
        assert w.run('cancel') == 'until_stopped-0 was cancelled'
    assert STOPPED['cancel'].wait(PROMPT)


def test_a_cancelled_run_cancels_its_coroutines():
    STOPPED['run'], STARTED['run'] = threading.Event(), threading.Event()
    with workflow(TimesOut, ThreadPoolExecutor, until_stopped=until_stopped) as w:
        handle = w.start('run')
        assert STARTED['run'].wait(PROMPT)
        handle.cancel()
        with pytest.raises(flowy.TaskCancelled):
            handle.result(timeout=PROMPT)
    assert STOPPED['run'].wait(PROMPT)
