"""Cancelling the losers of a race: fetch from three mirrors, keep the fastest.

All three downloads start at once.  The first to finish wins; the others are
cancelled: on worker processes their processes are stopped (and replaced), so they
stop using the network at once.  Their results fail with ``TaskCancelled``.
"""

import time

from flowy import LocalWorkflow, TaskCancelled, cancel, first, wait

MIRRORS = {'eu.example.org': 0.05, 'us.example.org': 5.0, 'ap.example.org': 5.0}


def download(mirror, seconds):
    time.sleep(seconds)  # the real work: a large download
    return 'the file, from %s' % mirror


class Fetch:
    def __init__(self, download):
        self.download = download

    def __call__(self, mirrors):
        attempts = [self.download(mirror, seconds) for mirror, seconds in mirrors.items()]
        winner = first(attempts)
        wait(winner)
        for attempt in attempts:
            cancel(attempt)  # the winner has finished: cancelling it does nothing
        losers = []
        for attempt in attempts:
            try:
                wait(attempt)
            except TaskCancelled as exc:
                losers.append(str(exc))
        return winner, losers


def main():
    with LocalWorkflow(Fetch) as workflow:  # worker processes
        workflow.conf_activity('download', download)
        started = time.monotonic()
        winner, losers = workflow.run(MIRRORS)
        print(winner)
        print('cancelled: %s' % ', '.join(losers))
        print('done in %.1f s, not 5' % (time.monotonic() - started))


if __name__ == '__main__':
    main()
