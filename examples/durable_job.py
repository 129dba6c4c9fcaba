"""A job that survives ``kill -9``: run it, kill it, run it again, and it goes on.

    python durable_job.py --slow        # kill it (kill -9, Ctrl-C, close the terminal)
    python durable_job.py --slow        # the same command: only the unfinished steps run
    flowy local show nightly-... --store /tmp/flowy-durable-job.db

The run store (an SQLite file) records every decision before its calls start and every
outcome as it arrives; the run id names the job (one per day here), so the same command
finds the run and resumes it.  Each step prints a line when it runs: a resumed run
prints only the steps that had no recorded result.  Run after it has finished, the
command prints the recorded result without running anything.

A step whose worker process is killed is retried (``retry=(0, 1)``); one that hangs is
stopped after ``timeout`` seconds and retried too.
"""

import argparse
import datetime
import os
import tempfile
import time

from flowy import LocalWorkflow, parallel_reduce

STORE = os.path.join(tempfile.gettempdir(), 'flowy-durable-job.db')


def process(part, seconds):
    time.sleep(seconds)  # the real work: a download, a conversion, a query...
    print('  processed part %d' % part, flush=True)
    return part * part


def add(a, b):
    return a + b


class Nightly:
    def __init__(self, process, add):
        self.process, self.add = process, add

    def __call__(self, parts, seconds):
        return parallel_reduce(self.add, [self.process(i, seconds) for i in range(parts)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--slow', action='store_true',
                        help='steps of one second, to leave time to kill the job')
    parser.add_argument('--store', default=STORE, help='the run store (default %(default)s)')
    args = parser.parse_args()
    seconds = 1.0 if args.slow else 0.01

    job = LocalWorkflow(Nightly, activity_workers=4, store=args.store)
    job.conf_activity('process', process, retry=(0, 1), timeout=max(10 * seconds, 1))
    job.conf_activity('add', add)
    run_id = 'nightly-%s-%s' % (datetime.date.today().isoformat(),
                                'slow' if args.slow else 'quick')
    print('run %s in %s' % (run_id, args.store), flush=True)
    with job:
        print('total:', job.run(20, seconds, _id=run_id))


if __name__ == '__main__':
    main()
