"""The live progress bar: drawn on a terminal (a pseudo-terminal here), quiet elsewhere."""

import io
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import flowy
from flowy import events
from flowy.progress import Progress

pytest.importorskip('tqdm', reason='needs the progress extra')

REPO = os.path.dirname(os.path.dirname(os.path.abspath(flowy.__file__)))
SCRIPT = textwrap.dedent('''
    from concurrent.futures import ThreadPoolExecutor
    import flowy

    def square(x):
        if x == 3:
            raise ValueError('not 3')
        return x * x

    class Squares:
        def __init__(self, square):
            self.square = square

        def __call__(self, n):
            results = [self.square(i) for i in range(n)]
            done = []
            for result in results:
                try:
                    done.append(flowy.wait(result))
                except flowy.TaskError:
                    pass
            return sum(done)

    w = flowy.LocalWorkflow(Squares, executor=ThreadPoolExecutor)
    w.conf_activity('square', square)
    print('result', w.run(40, _progress=True))
''')


def run_on_a_terminal(script, columns=100):
    """Run ``script`` with a pseudo-terminal as its standard streams; all it wrote."""
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of known width, then the script
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, columns, 0, 0))
        os.environ['PYTHONPATH'] = REPO
        os.execv(sys.executable, [sys.executable, '-c', script])
    chunks = []
    reader = threading.Thread(target=_read_all, args=(fd, chunks), daemon=True)
    reader.start()
    reader.join(60)
    assert not reader.is_alive(), 'the script did not end within 60 s'
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, b''.join(chunks)
    return b''.join(chunks).decode('utf-8', 'replace')


def _read_all(fd, chunks):
    try:
        while True:
            data = os.read(fd, 65536)
            if not data:
                return
            chunks.append(data)
    except OSError:  # the child closed its end
        return


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='pseudo-terminals: Linux')
def test_a_run_on_a_terminal_draws_a_progress_bar():
    output = run_on_a_terminal(SCRIPT)
    last = output.replace('\r\n', '\n').split('\r')[-1]
    assert 'Squares: 100%' in last
    assert '40/40' in last and 'failed 1' in last and 'running 0' in last
    assert output.rstrip().endswith('result %d' % sum(i * i for i in range(40) if i != 3))


def test_nothing_is_drawn_when_the_output_is_not_a_terminal():
    done = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=REPO))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ''
    assert done.stdout.startswith('result ')


def _send(event, run_id, key, **fields):
    events.send(event, 'local', run_id=run_id, workflow='W', key=key, dep='sq', attempt=0,
                **fields)


def test_a_progress_counts_its_run_and_its_children_only():
    stream = io.StringIO()
    with Progress('run-a', stream=stream, force=True) as progress:
        _send(events.task_scheduled, 'run-a', 'sq-0-0', kind='activity')
        _send(events.task_scheduled, 'run-a/child-0-0', 'sq-0-0', kind='activity')
        _send(events.task_scheduled, 'run-b', 'sq-0-0', kind='activity')
        _send(events.task_scheduled, 'run-a', '@sleep-0', kind='timer')  # not counted
        _send(events.task_started, 'run-a', 'sq-0-0')
        _send(events.task_finished, 'run-a', 'sq-0-0')
        _send(events.task_failed, 'run-a/child-0-0', 'sq-0-0', reason='no', cancelled=False)
    assert (progress.scheduled, progress.done, progress.failed, progress.running) == (
        2, 1, 1, 0)
    assert '2/2' in stream.getvalue().split('\r')[-1]
    assert not events.task_scheduled.receivers  # closing disconnected it


def test_an_swf_run_counts_outcomes_once_from_the_decider():
    stream = io.StringIO()
    with Progress('run-1', stream=stream, force=True) as progress:
        for sender, event, extra in [
                ('swf-decider', events.task_scheduled, {'kind': 'activity'}),
                ('swf-activity', events.task_started, {}),
                ('swf-activity', events.task_finished, {}),  # the worker's own view
                ('swf-decider', events.task_finished, {})]:  # the history's
            events.send(event, sender, run_id='run-1', workflow='W', key='sq-0-0', dep='sq',
                        attempt=0, **extra)
    assert (progress.scheduled, progress.started, progress.done, progress.running) == (
        1, 1, 1, 0)
