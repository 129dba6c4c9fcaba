"""flowy's local engine against plain ``concurrent.futures`` doing the same work.

Run by hand, never from the test suite::

    python benchmarks/bench_local.py [--quick] [--repeat N] [--json out.json]

Workloads (see benchmarks/README.rst for what each figure means):

1. SumSquares: ``square`` over range(N) as activities, then ``parallel_reduce`` with an
   ``add`` activity (2N - 1 tasks).  N = 1,000 and 10,000 on threads, N = 1,000 on
   processes.  The baseline is *reduce-as-completed* on a pool of the same kind and size.
2. Chain: ``x = inc(x)`` 1,000 times, on threads.  Baseline:
   ``pool.submit(inc, x).result()`` in a loop.
3. Sleep: 16 squares sleeping 0.05 s on 8 workers, reduced by an ``add`` that also
   sleeps 0.05 s.  The ideal is 6 waves = 0.30 s.

Each workload gets one untimed warm-up run, then ``--repeat`` timed runs (flowy and the
baseline alternate), and the median is reported.  Every result is checked.
"""

import argparse
import datetime
import faulthandler
import gc
import json
import multiprocessing
import os
import platform
import queue
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import flowy
from flowy import LocalWorkflow, parallel_reduce

WORKERS = 8                 # LocalWorkflow's default activity_workers
SLEEP = 0.05                # workload 3: every task sleeps this long
SLEEP_N = 16
SLEEP_IDEAL = 6 * SLEEP     # 8 + 8 squares, then a reduction tree: 6 waves (peers-perf (b))
CHAIN_N = 1000
RATIO_TARGET = 10.0         # issue target: SumSquares N=10,000 threads, flowy/cf <= 10x
QUEUE_TIMEOUT = 60.0        # the cf drivers never wait longer than this for one result


# -- activities (module level, so that worker processes can unpickle them) ---------------

def square(n):
    return n * n


def add(a, b):
    return a + b


def inc(x):
    return x + 1


def sleepy_square(n):
    time.sleep(SLEEP)
    return n * n


def sleepy_add(a, b):
    time.sleep(SLEEP)
    return a + b


def _warm_worker(_):
    time.sleep(0.01)   # long enough that every worker of the pool gets started
    return os.getpid()


# -- workflows -------------------------------------------------------------------------

class SumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        return parallel_reduce(self.add, map(self.square, range(n)))


class Chain:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self, n):
        x = 0
        for _ in range(n):
            x = self.inc(x)
        return x


def sum_squares_workflow(executor, square_func=square, add_func=add):
    kwargs = {} if executor is None else {'executor': executor}
    workflow = LocalWorkflow(SumSquares, **kwargs)   # default: 8 activity workers
    workflow.conf_activity('square', square_func)
    workflow.conf_activity('add', add_func)
    return workflow


def chain_workflow():
    workflow = LocalWorkflow(Chain, executor=ThreadPoolExecutor)
    workflow.conf_activity('inc', inc)
    return workflow


# -- concurrent.futures baselines --------------------------------------------------------

def cf_sum_squares(pool, n, square_func=square, add_func=add):
    """Reduce-as-completed: submit every square; a done-callback pushes each finished
    future into a SimpleQueue; submit add(a, b) as soon as two results are held."""
    finished = queue.SimpleQueue()
    put = finished.put
    for i in range(n):
        pool.submit(square_func, i).add_done_callback(put)
    held = None
    # n squares + (n - 1) adds pass through the queue; the last one is the total.
    for _ in range(2 * n - 2):
        value = finished.get(timeout=QUEUE_TIMEOUT).result()
        if held is None:
            held = value
        else:
            pool.submit(add_func, held, value).add_done_callback(put)
            held = None
    assert held is None
    return finished.get(timeout=QUEUE_TIMEOUT).result()


def cf_chain(pool, n):
    x = 0
    for _ in range(n):
        x = pool.submit(inc, x).result(timeout=QUEUE_TIMEOUT)
    return x


def warm_process_pool():
    pool = ProcessPoolExecutor(max_workers=WORKERS)
    pids = set(pool.map(_warm_worker, range(4 * WORKERS), timeout=QUEUE_TIMEOUT))
    return pool, len(pids)


# -- timing ---------------------------------------------------------------------------

class Limits:
    run_timeout = 120.0


def timed(func):
    """Run ``func()`` once; return (seconds, result).  A watchdog kills the whole process
    (after dumping every thread's stack) if one run takes longer than the limit."""
    gc.collect()
    faulthandler.dump_traceback_later(Limits.run_timeout, exit=True)
    try:
        start = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - start
    finally:
        faulthandler.cancel_dump_traceback_later()
    return elapsed, result


def measure(repeat, sides, say):
    """Warm up each side once (untimed), then time them alternately ``repeat`` times.

    ``sides`` maps a name to (run, check): ``run()`` returns (seconds, result) and
    ``check(result)`` raises if the result is wrong.  Returns {name: [seconds, ...]}.
    """
    times = {name: [] for name in sides}
    for run, check in sides.values():
        check(run()[1])
    for _ in range(repeat):
        for name, (run, check) in sides.items():
            seconds, result = run()
            check(result)
            times[name].append(seconds)
        say('.')
    return times


def expect(value):
    def check(result):
        assert result == value, 'wrong result: %r, expected %r' % (result, value)
    return check


def summary(seconds):
    return {'median_s': statistics.median(seconds), 'min_s': min(seconds),
            'max_s': max(seconds), 'runs_s': seconds}


# -- the workloads ---------------------------------------------------------------------

def bench_sum_squares_threads(n, repeat, say):
    workflow = sum_squares_workflow(ThreadPoolExecutor)

    def run_flowy():
        return timed(lambda: workflow.run(n))

    def run_cf():
        # Same as flowy, which builds its pool inside run(): create the pool inside the
        # timed region; the join of the idle threads (shutdown) is left outside.
        pool = None

        def work():
            nonlocal pool
            pool = ThreadPoolExecutor(max_workers=WORKERS)
            return cf_sum_squares(pool, n)
        try:
            return timed(work)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    check = expect(sum(i * i for i in range(n)))
    times = measure(repeat, {'flowy': (run_flowy, check), 'cf': (run_cf, check)}, say)
    return {'flowy': summary(times['flowy']), 'cf': summary(times['cf']), 'tasks': 2 * n - 1}


def bench_sum_squares_processes(n, repeat, say):
    workflow = sum_squares_workflow(None)   # LocalWorkflow's default ProcessPoolExecutor
    pool, started = warm_process_pool()
    try:
        def run_flowy():
            return timed(lambda: workflow.run(n))   # includes flowy's own pool start-up

        def run_cf_warm():
            return timed(lambda: cf_sum_squares(pool, n))

        def run_cf_cold():
            cold = None

            def work():
                nonlocal cold
                cold = ProcessPoolExecutor(max_workers=WORKERS)
                return cf_sum_squares(cold, n)
            try:
                return timed(work)
            finally:
                if cold is not None:
                    cold.shutdown(wait=True)   # untimed: flowy does not wait either

        check = expect(sum(i * i for i in range(n)))
        times = measure(repeat, {'flowy': (run_flowy, check), 'cf': (run_cf_warm, check),
                                 'cf_cold': (run_cf_cold, check)}, say)
    finally:
        pool.shutdown(wait=True)
    return {'flowy': summary(times['flowy']), 'cf': summary(times['cf']),
            'cf_cold': summary(times['cf_cold']), 'tasks': 2 * n - 1,
            'warm_pool_processes': started}


def bench_chain(n, repeat, say):
    workflow = chain_workflow()

    def run_flowy():
        return timed(lambda: workflow.run(n))

    def run_cf():
        pool = None

        def work():
            nonlocal pool
            pool = ThreadPoolExecutor(max_workers=WORKERS)
            return cf_chain(pool, n)
        try:
            return timed(work)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    check = expect(n)
    times = measure(repeat, {'flowy': (run_flowy, check), 'cf': (run_cf, check)}, say)
    return {'flowy': summary(times['flowy']), 'cf': summary(times['cf']), 'tasks': n}


def bench_sleep(repeat, say):
    workflow = sum_squares_workflow(ThreadPoolExecutor, sleepy_square, sleepy_add)

    def run_flowy():
        return timed(lambda: workflow.run(SLEEP_N))

    def run_cf():
        pool = None

        def work():
            nonlocal pool
            pool = ThreadPoolExecutor(max_workers=WORKERS)
            return cf_sum_squares(pool, SLEEP_N, sleepy_square, sleepy_add)
        try:
            return timed(work)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    check = expect(sum(i * i for i in range(SLEEP_N)))
    times = measure(repeat, {'flowy': (run_flowy, check), 'cf': (run_cf, check)}, say)
    result = {'flowy': summary(times['flowy']), 'cf': summary(times['cf']),
              'tasks': 2 * SLEEP_N - 1, 'ideal_s': SLEEP_IDEAL}
    for side in ('flowy', 'cf'):
        result[side]['over_ideal'] = result[side]['median_s'] / SLEEP_IDEAL
    return result


# -- report ---------------------------------------------------------------------------

def environment():
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], check=False,
                                capture_output=True, text=True, timeout=10,
                                cwd=here).stdout.strip()
        changed = subprocess.run(['git', 'status', '--porcelain', '--', 'flowy'],
                                 check=False, capture_output=True, text=True, timeout=10,
                                 cwd=os.path.dirname(here)).stdout.strip()
        if commit and changed:
            commit += '+uncommitted changes in flowy/'
    except (OSError, subprocess.SubprocessError):
        commit = ''
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'python': sys.version.split()[0],
        'implementation': platform.python_implementation(),
        'platform': platform.platform(),
        'cpu_count': os.cpu_count(),
        'cpus_usable': affinity,
        'mp_start_method': multiprocessing.get_start_method(),
        'flowy_version': flowy.__version__,
        'git_commit': commit or None,
        'activity_workers': WORKERS,
    }


def ms(seconds):
    return '%.1f ms' % (seconds * 1e3) if seconds < 1 else '%.2f s' % seconds


def table_rows(results):
    rows = []

    def row(label, flowy_s, cf_s, target, ok=None):
        ratio = flowy_s / cf_s
        verdict = '' if ok is None else ('  PASS' if ok(ratio) else '  FAIL')
        rows.append((label, ms(flowy_s), ms(cf_s), '%.1fx' % ratio, target + verdict))
        return ratio

    for key, label in (('sumsquares_threads_1000', 'SumSquares N=1,000 threads'),
                       ('sumsquares_threads_10000', 'SumSquares N=10,000 threads')):
        if key in results:
            r = results[key]
            if key.endswith('10000'):
                ratio = row(label, r['flowy']['median_s'], r['cf']['median_s'],
                            'ratio <= %gx' % RATIO_TARGET, lambda x: x <= RATIO_TARGET)
                r['target'] = {'ratio_max': RATIO_TARGET, 'met': ratio <= RATIO_TARGET}
            else:
                ratio = row(label, r['flowy']['median_s'], r['cf']['median_s'], '(ratio only)')
            r['ratio'] = ratio
    if 'sumsquares_processes_1000' in results:
        r = results['sumsquares_processes_1000']
        r['ratio'] = row('SumSquares N=1,000 processes, cf warm pool',
                         r['flowy']['median_s'], r['cf']['median_s'], '(ratio only)')
        r['ratio_vs_cold'] = row('  same flowy runs, cf cold pool',
                                 r['flowy']['median_s'], r['cf_cold']['median_s'],
                                 '(ratio only)')
    if 'chain_threads_1000' in results:
        r = results['chain_threads_1000']
        r['ratio'] = row('Chain of 1,000 inc threads', r['flowy']['median_s'],
                         r['cf']['median_s'], '(ratio only)')
    if 'sleep_threads_16' in results:
        r = results['sleep_threads_16']
        r['ratio'] = row('Sleep 16 x 0.05 s, 8 workers', r['flowy']['median_s'],
                         r['cf']['median_s'],
                         'measured/ideal(%.2f s): flowy %.2f, cf %.2f'
                         % (SLEEP_IDEAL, r['flowy']['over_ideal'], r['cf']['over_ideal']))
    return rows


def print_table(rows):
    header = ('workload', 'flowy', 'cf', 'flowy/cf', 'target')
    widths = [max(len(str(line[i])) for line in [header] + rows) for i in range(5)]
    fmt = '  '.join(['%%-%ds' % widths[0]] + ['%%%ds' % w for w in widths[1:4]] + ['%s'])
    print(fmt % header)
    print('  '.join('-' * w for w in widths))
    for line in rows:
        print(fmt % line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='3 timed runs per workload instead of 5 (same sizes)')
    parser.add_argument('--repeat', type=int, default=None,
                        help='timed runs per workload (default 5, or 3 with --quick)')
    parser.add_argument('--json', metavar='PATH', help='also write the figures to PATH')
    parser.add_argument('--run-timeout', type=float, default=Limits.run_timeout,
                        help='seconds; abort everything (dumping the stacks) if one run '
                             'takes longer (default %(default)s)')
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    if repeat < 1:
        parser.error('--repeat must be at least 1')
    Limits.run_timeout = args.run_timeout

    env = environment()
    print('flowy %s (%s) local engine vs concurrent.futures'
          % (env['flowy_version'], env['git_commit'] or 'no git'))
    print('date %s | Python %s (%s) | %d CPUs (%s usable) | %s | mp start method %s'
          % (env['date'], env['python'], env['implementation'], env['cpu_count'],
             env['cpus_usable'], env['platform'], env['mp_start_method']))
    print('%d activity workers, 1 untimed warm-up + %d timed runs each, medians shown'
          % (WORKERS, repeat))
    print()

    def say(text):
        sys.stdout.write(text)
        sys.stdout.flush()

    workloads = [
        ('sumsquares_threads_1000', 'SumSquares N=1,000 threads',
         lambda: bench_sum_squares_threads(1000, repeat, say)),
        ('sumsquares_threads_10000', 'SumSquares N=10,000 threads',
         lambda: bench_sum_squares_threads(10000, repeat, say)),
        ('sumsquares_processes_1000', 'SumSquares N=1,000 processes',
         lambda: bench_sum_squares_processes(1000, repeat, say)),
        ('chain_threads_1000', 'Chain 1,000 threads',
         lambda: bench_chain(CHAIN_N, repeat, say)),
        ('sleep_threads_16', 'Sleep 16 x 0.05 s threads',
         lambda: bench_sleep(repeat, say)),
    ]
    results = {}
    started = time.perf_counter()
    for key, label, bench in workloads:
        say('%-30s ' % label)
        t0 = time.perf_counter()
        results[key] = bench()
        say(' %.1f s\n' % (time.perf_counter() - t0))
    total = time.perf_counter() - started

    print()
    print_table(table_rows(results))
    p = results['sumsquares_processes_1000']
    print()
    print('Processes: flowy starts its process pool inside run(), so its time includes the '
          'pool start-up;\n  the cf row uses a pool started (%d workers up) before timing, '
          'the cold row one started inside the timed region.' % p['warm_pool_processes'])
    for key in ('sumsquares_threads_1000', 'sumsquares_threads_10000',
                'sumsquares_processes_1000', 'chain_threads_1000'):
        r = results[key]
        for side in ('flowy', 'cf'):
            r[side]['per_task_us'] = r[side]['median_s'] / r['tasks'] * 1e6
    print('Per task (median / tasks): ' + '; '.join(
        '%s flowy %.0f us, cf %.0f us' % (key, results[key]['flowy']['per_task_us'],
                                          results[key]['cf']['per_task_us'])
        for key in ('sumsquares_threads_10000', 'chain_threads_1000')))
    print('All results checked correct.  Total benchmark time %.1f s.' % total)

    if args.json:
        with open(args.json, 'w', encoding='utf-8') as stream:
            json.dump({'environment': env, 'repeat': repeat, 'quick': args.quick,
                       'total_s': total, 'results': results}, stream, indent=2)
            stream.write('\n')
        print('Figures written to %s' % args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
