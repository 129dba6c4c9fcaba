"""Bounded waits for tests: nothing a test waits for may hang the suite.

``bounded_run`` runs ``LocalWorkflow.run`` on a helper thread and fails the test if it
has not ended within a bound; ``process_gone`` tells whether a process has exited.
"""

import threading

PROMPT = 10  # seconds: a generous bound for "at once" (the real cost is milliseconds)


def bounded_run(w, *args, _within=PROMPT, **kwargs):
    """``w.run(...)`` on a helper thread, failing the test if it does not end in time."""
    outcome = {}

    def target():
        try:
            outcome['value'] = w.run(*args, **kwargs)
        except BaseException as exc:
            outcome['error'] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(_within)
    assert not thread.is_alive(), 'run() still waiting after %d s' % _within
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


def process_gone(pid):
    """True once ``pid`` has exited (a zombie waiting to be reaped counts as gone)."""
    try:
        with open('/proc/%d/stat' % pid) as stream:
            state = stream.read().rpartition(')')[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ('Z', 'X')
