"""Retries and timeouts on the local engine (activities on threads).

``fetch`` fails on its first two attempts and is retried, after 0.1 s and 0.2 s, because
``retry_failures=True``.  ``crunch`` runs longer than its timeout of 0.3 s on every
attempt: each timed-out attempt learns it from ``flowy.heartbeat()`` and stops, and once
its two attempts have timed out the call raises TaskTimedout.  Prints:

    fetched: page 3 (after 3 attempts)
    crunch: TaskTimedout: crunch-0 timed out on all 2 attempts: crunch-0-1 timed out:
    ran longer than its timeout of 0.3 s (start-to-close)

(the last two lines are one line in the output).
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import flowy
from flowy import LocalWorkflow, TaskTimedout, wait

attempts = []
lock = threading.Lock()


def fetch(page):
    with lock:
        attempts.append(page)
        tries = len(attempts)
    if tries < 3:
        raise ConnectionError('the server is busy (attempt %d)' % tries)
    return 'page %d (after %d attempts)' % (page, tries)


def crunch(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if flowy.heartbeat():  # True once this attempt has timed out
            return 'stopped early'  # discarded: nobody reads a timed-out attempt's result
        time.sleep(0.01)
    return 'crunched'


class Job:
    def __init__(self, fetch, crunch):
        self.fetch = fetch
        self.crunch = crunch

    def __call__(self, page):
        fetched = wait(self.fetch(page))
        try:
            crunched = wait(self.crunch(5))
        except TaskTimedout as error:
            crunched = 'TaskTimedout: %s' % error
        return fetched, crunched


if __name__ == '__main__':
    with LocalWorkflow(Job, executor=ThreadPoolExecutor) as job:
        job.conf_activity('fetch', fetch, retry=(0, 0.1, 0.2), retry_failures=True)
        job.conf_activity('crunch', crunch, retry=(0, 0), timeout=0.3)
        fetched, crunched = job.run(3)
        print('fetched:', fetched)
        print('crunch:', crunched)
