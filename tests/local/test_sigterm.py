"""SIGTERM to a process running a workflow on processes stops its worker processes too.

The workflow runs in a child interpreter; its activities write their worker's pid to a
file and then sleep (bounded).  Every wait here is bounded.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from waiting import process_gone

from flowy import LocalWorkflow

PROMPT = 10  # seconds: a generous bound for "promptly"

SCRIPT = textwrap.dedent('''
    import os
    import sys
    import time

    import flowy

    def sleeps(i):
        path = os.path.join(sys.argv[2], 'pid-%d' % i)
        with open(path + '.tmp', 'w') as stream:
            stream.write(str(os.getpid()))
        os.rename(path + '.tmp', path)  # the test never reads half a pid
        time.sleep(30)
        return i

    class Two:
        def __init__(self, task):
            self.task = task

        def __call__(self):
            return [self.task(0), self.task(1)]

    if __name__ == '__main__':
        workflow = flowy.LocalWorkflow(Two, activity_workers=2, driver=sys.argv[1])
        workflow.conf_activity('task', sleeps)
        print(workflow.run())
''')


def started_workers(directory, count, process):
    """The pids the activities wrote, once all ``count`` have (polled, bounded)."""
    paths = [directory / ('pid-%d' % i) for i in range(count)]
    deadline = time.monotonic() + 2 * PROMPT
    while not all(path.exists() for path in paths):
        assert process.poll() is None, 'the workflow process ended early'
        assert time.monotonic() < deadline, 'the activities did not start in time'
        time.sleep(0.01)
    return [int(path.read_text()) for path in paths]


@pytest.mark.skipif(not os.path.isdir('/proc'), reason='reads process states from /proc')
@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_sigterm_stops_the_worker_processes_and_ends_the_process_as_sigterm_does(
        tmp_path, driver):
    script = tmp_path / 'sigterm.py'
    script.write_text(SCRIPT)
    # Output goes to files: worker processes left running would hold a pipe open.
    with open(tmp_path / 'out', 'w') as out:
        process = subprocess.Popen([sys.executable, str(script), driver, str(tmp_path)],
                                   stdout=out, stderr=subprocess.STDOUT)
    workers = []
    try:
        workers = started_workers(tmp_path, 2, process)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=PROMPT)
        # The workers are not our children, so there is no event to wait on: poll, bounded.
        deadline = time.monotonic() + PROMPT
        while not all(map(process_gone, workers)) and time.monotonic() < deadline:
            time.sleep(0.02)
        left = [pid for pid in workers if not process_gone(pid)]
    finally:
        for pid in [process.pid] + workers:  # whatever is left of what this test started
            if not process_gone(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=PROMPT)
    assert process.returncode == -signal.SIGTERM, (tmp_path / 'out').read_text()
    assert not left, 'workers %s still running after SIGTERM' % left


class Nothing:
    def __call__(self):
        return 'done'


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason='signal handlers belong to the main thread')
def test_the_sigterm_handler_is_restored_after_a_run():
    previous = signal.getsignal(signal.SIGTERM)
    w = LocalWorkflow(Nothing, executor=ThreadPoolExecutor)
    assert w.run() == 'done'
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_sigterm_handler_of_the_program_is_left_alone():
    def handler(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        w = LocalWorkflow(Nothing, executor=ThreadPoolExecutor)
        assert w.run() == 'done'
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
