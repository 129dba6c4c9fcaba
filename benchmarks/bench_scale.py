"""Scaling out: ``async def`` activities and activities on a Dask cluster, against the
same work written directly with asyncio or with a Dask client.

Run by hand, never from the test suite::

    python benchmarks/bench_scale.py [--quick] [--repeat N] [--only NAME] [--json out.json]

Workloads (``--only`` names):

``async``
    10,000 calls of an ``async def`` activity that awaits ``asyncio.sleep(0.1)``,
    summed with ``parallel_reduce`` and a plain function (cached driver), against
    ``asyncio.gather`` over the same 10,000 coroutines, summed.  The ideal is 0.1 s; a
    pool of 8 threads running a blocking version would need 125 s.  Target: flowy at
    most 3x gather.
``dask``
    SumSquares(10,000) (``square`` over range(N), ``parallel_reduce`` with an ``add``
    activity: 19,999 tasks) through flowy with ``executor=client.get_executor()`` on a
    2-worker ``distributed.LocalCluster`` bound to 127.0.0.1, against the same
    reduce-as-completed written with the client itself (``client.submit`` and
    ``as_completed``).  Target: flowy at most 1.5x.  Needs the ``dask`` extra.

Each side gets one untimed warm-up run, then ``--repeat`` timed runs (alternating), and
the median is reported.  Every result is checked.
"""

import argparse
import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_local import (  # noqa: E402
    Limits,
    base_environment,
    clocked,
    expect,
    measure,
    ms,
    run_and_report,
    sum_of_squares,
)

from flowy import LocalWorkflow, parallel_reduce  # noqa: E402

ASYNC_N = 10000
ASYNC_SLEEP = 0.1
ASYNC_MAX = 3.0             # async: flowy / asyncio.gather
DASK_N = 10000
DASK_WORKERS = 2
DASK_MAX = 1.5              # dask: flowy / the client's own reduce-as-completed


# -- activities (module level: Dask pickles them by reference) ----------------------------

async def nap(i):
    await asyncio.sleep(ASYNC_SLEEP)
    return i


def plain_add(a, b):
    return a + b


def square(n):
    return n * n


def add(a, b):
    return a + b


class Naps:
    def __init__(self, nap):
        self.nap = nap

    def __call__(self, n):
        return parallel_reduce(plain_add, [self.nap(i) for i in range(n)])


class SumSquares:
    def __init__(self, square, add):
        self.square, self.add = square, add

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


async def _gathered(n):
    return sum(await asyncio.gather(*[nap(i) for i in range(n)]))


def gather(n):
    return asyncio.run(_gathered(n))


def client_sum_squares(client, n):
    """Reduce-as-completed with the Dask client itself: add any two results as soon as
    both exist."""
    from distributed import as_completed

    futures = as_completed([client.submit(square, i, pure=False) for i in range(n)],
                           with_results=True)
    ready = []
    for _, value in futures:
        ready.append(value)
        if len(ready) == 2:
            futures.add(client.submit(add, ready.pop(), ready.pop(), pure=False))
    return ready[0]


# -- the workloads ---------------------------------------------------------------------

def bench_async(repeat, say, report):
    check = expect(sum(range(ASYNC_N)))
    workflow = LocalWorkflow(Naps, executor=ThreadPoolExecutor)
    workflow.conf_activity('nap', nap)
    with workflow:
        entry = measure({
            'flowy': (clocked(lambda: workflow.run(ASYNC_N)), check, repeat),
            'gather': (clocked(lambda: gather(ASYNC_N)), check, repeat),
        }, say)
    ratio = entry['flowy']['median_s'] / entry['gather']['median_s']
    entry.update(calls=ASYNC_N, ideal_s=ASYNC_SLEEP, ratio=ratio,
                 eight_threads_s=ASYNC_N * ASYNC_SLEEP / 8, target_max=ASYNC_MAX,
                 met=ratio <= ASYNC_MAX)
    report.row('10,000 async calls of 0.1 s, cached (ideal 0.1 s)',
               ms(entry['flowy']['median_s']), 'gather %s' % ms(entry['gather']['median_s']),
               ratio, '<= %gx gather' % ASYNC_MAX, ASYNC_MAX)
    report.say('flowy %s, asyncio.gather %s, ideal %s; 8 threads would need %.0f s'
               % (ms(entry['flowy']['median_s']), ms(entry['gather']['median_s']),
                  ms(ASYNC_SLEEP), ASYNC_N * ASYNC_SLEEP / 8))
    return {'async_%d' % ASYNC_N: entry}


def bench_dask(repeat, say, report):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        report.say('distributed is not installed (pip install flowy[dask]): skipped')
        return {'dask_cluster': {'installed': False}}
    check = expect(sum_of_squares(DASK_N))
    with LocalCluster(n_workers=DASK_WORKERS, threads_per_worker=1, host='127.0.0.1',
                      dashboard_address=None) as cluster, Client(cluster) as client:
        workflow = LocalWorkflow(SumSquares, executor=client.get_executor())
        workflow.conf_activity('square', square)
        workflow.conf_activity('add', add)
        with workflow:
            entry = measure({
                'flowy': (clocked(lambda: workflow.run(DASK_N)), check, repeat),
                'client': (clocked(lambda: client_sum_squares(client, DASK_N)), check,
                           repeat),
            }, say)
    ratio = entry['flowy']['median_s'] / entry['client']['median_s']
    tasks = 2 * DASK_N - 1
    entry.update(tasks=tasks, workers=DASK_WORKERS, ratio=ratio, target_max=DASK_MAX,
                 met=ratio <= DASK_MAX)
    report.row('SumSquares N=10,000 on a 2-worker Dask cluster', ms(entry['flowy']['median_s']),
               'client %s' % ms(entry['client']['median_s']), ratio,
               '<= %gx client' % DASK_MAX, DASK_MAX)
    report.say('flowy %s (%.0f us/task), the client itself %s (%.0f us/task)'
               % (ms(entry['flowy']['median_s']), entry['flowy']['median_s'] / tasks * 1e6,
                  ms(entry['client']['median_s']),
                  entry['client']['median_s'] / tasks * 1e6))
    return {'dask_cluster_%d' % DASK_N: entry}


TABLE_ORDER = ('async', 'dask')
WORKLOADS = (
    ('async', '10,000 async calls', bench_async),
    ('dask', 'Dask cluster SumSquares', bench_dask),
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='3 timed runs instead of 5')
    parser.add_argument('--repeat', type=int, default=None, help='timed runs per side')
    parser.add_argument('--only', action='append', choices=[name for name, _, _ in WORKLOADS])
    parser.add_argument('--json', help='also write the figures to this file')
    parser.add_argument('--run-timeout', type=float, default=600.0,
                        help='seconds; abort if one run takes longer (default %(default)s)')
    args = parser.parse_args(argv)
    Limits.run_timeout = args.run_timeout
    repeat = args.repeat or (3 if args.quick else 5)
    selected = [w for w in WORKLOADS if not args.only or w[0] in args.only]
    env = base_environment()
    print('date %s | Python %s | %s CPUs | flowy %s'
          % (env['date'], env['python'], env['cpu_count'], env['flowy_version']))

    def say(text):
        sys.stdout.write(text)
        sys.stdout.flush()

    return run_and_report(selected, repeat, say, args, env, TABLE_ORDER)


if __name__ == '__main__':
    sys.exit(main())
