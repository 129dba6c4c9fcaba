"""flowy.events from the local engine: what is sent, with which fields, in which order."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from recording import Recorder

import flowy
from flowy import LocalWorkflow, events


def inc(x):
    return x + 1


def boom(x):
    raise ValueError('no %d' % x)


def slow(x):
    deadline = time.monotonic() + 10
    while x and not flowy.heartbeat() and time.monotonic() < deadline:
        time.sleep(0.005)  # until its attempt times out (heartbeat() says so)
    return x


class Mixed:
    def __init__(self, inc, boom, slow):
        self.inc, self.boom, self.slow = inc, boom, slow

    def __call__(self):
        a = self.inc(1)
        try:
            flowy.wait(self.boom(2))
        except flowy.TaskError:
            pass
        try:
            flowy.wait(self.slow(1))
        except flowy.TaskTimedout:
            pass
        later = self.inc(10)
        doomed = self.inc(later)  # waits for its argument: cancelled before it starts
        flowy.cancel(doomed)
        flowy.wait(later)
        return flowy.wait(a)


def mixed():
    w = LocalWorkflow(Mixed, executor=ThreadPoolExecutor)
    w.conf_activity('inc', inc)
    w.conf_activity('boom', boom)
    w.conf_activity('slow', slow, timeout=0.05, retry=(0, 0))
    return w


def test_a_run_and_its_tasks_send_their_events_in_order():
    with Recorder() as recorder, mixed() as w:
        handle = w.start()
        assert handle.result(timeout=10) == 2
    assert recorder.names()[0] == 'run_started'
    assert recorder.names()[-1] == 'run_finished'
    assert recorder.names('inc-0-0') == ['task_scheduled', 'task_started', 'task_finished']
    assert recorder.names('boom-0-0') == ['task_scheduled', 'task_started', 'task_failed']
    assert recorder.names('slow-0-0') == ['task_scheduled', 'task_started', 'task_timed_out']
    assert recorder.names('slow-0-1')[:2] == ['task_scheduled', 'task_retried']
    assert recorder.names('slow-0-1')[-1] == 'task_timed_out'
    assert recorder.names('inc-2-0') == ['task_failed']  # cancelled before it started
    failed = {fields['key']: fields for fields in recorder.fields('task_failed')}
    assert failed['boom-0-0']['reason'] == 'no 2' and not failed['boom-0-0']['cancelled']
    assert failed['inc-2-0']['cancelled'] and failed['inc-2-0']['reason'] == (
        'inc-2 was cancelled')
    started = recorder.fields('run_started')[0]
    assert started['run_id'] == handle.id and started['workflow'] == 'Mixed'
    assert started['parent'] is None
    for name, sender, fields in recorder.heard:
        assert sender == 'local'
        assert fields['run_id'] == handle.id and isinstance(fields['at'], float)
        if name.startswith('task_'):
            assert fields['attempt'] == int(fields['key'].rpartition('-')[2])
            assert fields['dep'] == fields['key'].split('-')[0]
    decisions = recorder.fields('decision_made')
    assert decisions and all(d['duration'] >= 0 and d['calls'] >= 0 for d in decisions)
    assert recorder.fields('run_finished')[0]['duration'] > 0


class Fails:
    def __init__(self, boom):
        self.boom = boom

    def __call__(self):
        return self.boom(3)


def test_a_failed_and_a_cancelled_run_send_run_failed():
    with Recorder() as recorder:
        w = LocalWorkflow(Fails, executor=ThreadPoolExecutor)
        w.conf_activity('boom', boom)
        with pytest.raises(flowy.TaskError):
            w.run()
        w.close()
        w = LocalWorkflow(Waits, executor=ThreadPoolExecutor)
        w.conf_activity('inc', inc)
        handle = w.start()
        handle.cancel('stop')
        with pytest.raises(flowy.TaskCancelled):
            handle.result(timeout=10)
        w.close()
    failed, cancelled = recorder.fields('run_failed')
    assert failed['reason'] == 'boom-0-0 failed: ValueError: no 3' and not failed['cancelled']
    assert cancelled['cancelled'] and cancelled['reason'] == 'the run was cancelled: stop'


class Waits:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self):
        return flowy.wait(flowy.wait_signal('never'))


def test_a_failing_receiver_is_logged_and_the_run_goes_on(caplog):
    def broken(sender, **fields):
        raise RuntimeError('receiver bug')

    events.task_finished.connect(broken)
    try:
        w = LocalWorkflow(Fails, executor=ThreadPoolExecutor)
        w.conf_activity('boom', inc)
        with caplog.at_level(logging.ERROR, logger='flowy'):
            assert w.run() == 4
        w.close()
    finally:
        events.task_finished.disconnect(broken)
    assert 'a receiver of the flowy event task_finished failed' in caplog.text


def test_runs_are_logged_at_info_and_retries_and_timeouts_at_warning(caplog):
    with caplog.at_level(logging.INFO, logger='flowy'), mixed() as w:
        w.run()
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith('run Mixed-') and m.endswith('started') for m in infos)
    assert any(' finished in ' in m for m in infos)
    assert any(m.startswith('slow-0-1 of run Mixed-') and 'tried again (attempt 2)' in m
               for m in warnings)
    assert any(m.startswith('slow-0-0 of run Mixed-') and ' timed out: ' in m
               for m in warnings)


def test_nobody_listening_costs_nothing_but_the_check():
    assert not events.task_finished.receivers
    assert not events.task_scheduled.receivers
    assert not events.task_started.receivers
