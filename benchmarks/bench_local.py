"""flowy's local engine, both drivers, against plain ``concurrent.futures`` doing the same work.

Run by hand, never from the test suite::

    python benchmarks/bench_local.py [--quick] [--repeat N] [--only NAME] [--json out.json]

Workloads (``--only`` names; see benchmarks/README.rst for what each figure means):

``sumsquares-threads``
    ``square`` over range(N) as activities, then ``parallel_reduce`` with an ``add``
    activity (2N - 1 tasks), N = 1,000 and 10,000 on threads: flowy's cached and replay
    drivers against *reduce-as-completed* on a thread pool.
``sumsquares-processes``
    The same with N = 1,000 on processes, cached driver: warm pools (flowy keeps its pool
    between runs) and, for information, cold ones (a new pool inside every timed run).
``chain``
    ``x = inc(x)`` n times on threads, n = 1,000 and 10,000 (cached; replay at 1,000
    only).  Baseline: ``pool.submit(inc, x).result()`` in a loop.  Time per step and
    the growth exponent k of t ~ n^k.
``sleep``
    16 squares sleeping 0.05 s on 8 workers, reduced by an ``add`` that also sleeps
    0.05 s.  The ideal is 6 waves = 0.30 s.
``rss``
    Peak RSS of a fresh interpreter running SumSquares N = 100,000 (and 10,000, and
    nothing at all) on threads with the cached driver.
``dask``
    dask.delayed on threads (static pairwise tree), when dask is installed.

Each timed workload gets one untimed warm-up run per side, then ``--repeat`` timed runs
(the sides alternate), and the median is reported.  Every result is checked.
"""

import argparse
import datetime
import faulthandler
import gc
import json
import math
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
DRIVERS = ('cached', 'replay')
SUM_NS = (1000, 10000)      # SumSquares sizes on threads
PROCESS_N = 1000            # SumSquares size on processes
CHAIN_NS = (1000, 10000)    # chain lengths (replay runs the first only)
FEW = 3                     # at most this many timed runs for the slow information-only sides
SLEEP = 0.05                # sleep workload: every task sleeps this long
SLEEP_N = 16
SLEEP_IDEAL = 6 * SLEEP     # 8 + 8 squares, then a reduction tree: 6 waves
RSS_NS = (0, 10000, 100000)  # 0: import flowy (and this script) only
QUEUE_TIMEOUT = 60.0        # the cf drivers never wait longer than this for one result

# Targets (ratios are flowy / baseline on the same machine, in the same run).
SUM_CACHED_MAX = 1.5        # SumSquares N=10,000 threads, cached / cf
SUM_REPLAY_MAX = 10.0       # SumSquares N=10,000 threads, replay / cf
PROCESS_WARM_MAX = 1.5      # SumSquares N=1,000 processes, warm flowy / warm cf
CHAIN_K_MAX = 1.1           # chain, cached: exponent k of t ~ n^k between 1,000 and 10,000
CHAIN_STEP_MAX = 2.0        # chain, cached per step / cf per step, at each n
SLEEP_CACHED_MAX = 1.03     # sleep, cached: measured / ideal

# dask.delayed on threads, as measured earlier on a similar 2-core machine (4 workers).
PEERS_DASK = ('dask.delayed threads, static pairwise tree, 4 workers, earlier measurement: '
              'N=1,000 217 ms (108 us/task, 12.8x cf); '
              'N=10,000 3.00 s (150 us/task, 9.0x cf)')


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


def sum_squares_workflow(executor, driver='cached', square_func=square, add_func=add):
    """A LocalWorkflow for SumSquares; use it in a ``with`` block (it keeps its pools)."""
    kwargs = {} if executor is None else {'executor': executor}
    workflow = LocalWorkflow(SumSquares, driver=driver, **kwargs)   # 8 activity workers
    workflow.conf_activity('square', square_func)
    workflow.conf_activity('add', add_func)
    return workflow


def chain_workflow(driver):
    workflow = LocalWorkflow(Chain, executor=ThreadPoolExecutor, driver=driver)
    workflow.conf_activity('inc', inc)
    return workflow


def pool_processes(workflow):
    """How many worker processes the pool ``workflow`` keeps holds (None if unknown)."""
    pool = getattr(workflow._pools.current, 'activity', None)
    pids = getattr(pool, 'pids', None)  # flowy's own worker processes
    if pids is not None:
        return len(pids)
    try:
        return len(pool._processes)
    except (AttributeError, IndexError, TypeError):
        return None


# -- baselines -------------------------------------------------------------------------

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


def dask_sum_squares(dask, n):
    """A static balanced pairwise tree of ``dask.delayed`` nodes, computed on threads."""
    level = [dask.delayed(square)(i) for i in range(n)]
    while len(level) > 1:
        paired = [dask.delayed(add)(level[i], level[i + 1])
                  for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].compute(scheduler='threads', num_workers=WORKERS)


def import_dask():
    try:
        import dask
    except ImportError:
        return None
    return dask


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


def measure(sides, say):
    """Warm up each side once (untimed), then time the sides alternately.

    ``sides`` maps a name to (run, check, repeat): ``run()`` does the work and returns
    (seconds, result) (see :func:`clocked`), ``check(result)`` raises if the result is
    wrong, and the side gets ``repeat`` timed runs (it sits out the later rounds when that
    is fewer than the others').  Returns {name: summary}.
    """
    times = {name: [] for name in sides}
    for run, check, _ in sides.values():
        check(run()[1])
    for round_ in range(max(repeat for _, _, repeat in sides.values())):
        for name, (run, check, repeat) in sides.items():
            if round_ < repeat:
                seconds, result = run()
                check(result)
                times[name].append(seconds)
        say('.')
    return {name: summary(seconds) for name, seconds in times.items()}


def clocked(func):
    """A side for :func:`measure` that times all of ``func()``."""
    return lambda: timed(func)


def expect(value):
    def check(result):
        assert result == value, 'wrong result: %r, expected %r' % (result, value)
    return check


def summary(seconds):
    return {'median_s': statistics.median(seconds), 'min_s': min(seconds),
            'max_s': max(seconds), 'runs_s': seconds}


def sum_of_squares(n):
    return sum(i * i for i in range(n))


# -- report helpers ---------------------------------------------------------------------

def ms(seconds):
    return '%.1f ms' % (seconds * 1e3) if seconds < 1 else '%.2f s' % seconds


def us(seconds):
    return '%.0f us' % (seconds * 1e6)


class Report:
    """Rows of the final table, and the lines printed under each workload."""

    def __init__(self):
        self.rows = []
        self.lines = []
        self.workload = None   # the --only name of the workload adding rows

    def row(self, workload, flowy_text, baseline_text, ratio, target=None, limit=None,
            ratio_text=None):
        """Add a table row; with ``limit``, the verdict is PASS when ratio <= limit."""
        if ratio_text is None:
            ratio_text = '-' if ratio is None else '%.2fx' % ratio
        verdict = 'info' if limit is None else ('PASS' if ratio <= limit else 'FAIL')
        self.rows.append({'group': self.workload, 'workload': workload, 'flowy': flowy_text,
                          'baseline': baseline_text, 'ratio': ratio_text,
                          'ratio_value': ratio, 'target': target or '-',
                          'verdict': verdict})
        return verdict

    def say(self, text):
        self.lines.append(text)


def judged(value, limit, what='', unit='x'):
    """'(target <= 1.5x: PASS)' text for the detail lines."""
    return '(target %s<= %g%s: %s)' % (what and what + ' ', limit, unit,
                                        'PASS' if value <= limit else 'FAIL')


# -- the workloads ---------------------------------------------------------------------

def bench_sum_squares_threads(repeat, say, report):
    results = {}
    for n in SUM_NS:
        tasks = 2 * n - 1
        check = expect(sum_of_squares(n))
        with sum_squares_workflow(ThreadPoolExecutor, 'cached') as cached, \
                sum_squares_workflow(ThreadPoolExecutor, 'replay') as replayed, \
                ThreadPoolExecutor(max_workers=WORKERS) as pool:
            # Every side keeps its pool: flowy's LocalWorkflow between runs, cf the pool
            # made here.  The untimed warm-up run starts the threads of both.
            entry = measure({
                'cached': (clocked(lambda n=n: cached.run(n)), check, repeat),
                'replay': (clocked(lambda n=n: replayed.run(n)), check, repeat),
                'cf': (clocked(lambda n=n: cf_sum_squares(pool, n)), check, repeat),
            }, say)
        for side in ('cached', 'replay', 'cf'):
            entry[side]['per_task_us'] = entry[side]['median_s'] / tasks * 1e6
        cf_s = entry['cf']['median_s']
        entry['tasks'] = tasks
        entry['ratio_cached'] = entry['cached']['median_s'] / cf_s
        entry['ratio_replay'] = entry['replay']['median_s'] / cf_s
        results['sumsquares_threads_%d' % n] = entry
        label = 'SumSquares N=%s threads' % format(n, ',')
        if n == 10000:
            report.row(label + ', cached', ms(entry['cached']['median_s']), ms(cf_s),
                       entry['ratio_cached'], '<= %gx cf' % SUM_CACHED_MAX, SUM_CACHED_MAX)
            report.row(label + ', replay', ms(entry['replay']['median_s']), ms(cf_s),
                       entry['ratio_replay'], '<= %gx cf' % SUM_REPLAY_MAX, SUM_REPLAY_MAX)
            entry['targets'] = {
                'cached_ratio_max': SUM_CACHED_MAX,
                'cached_met': entry['ratio_cached'] <= SUM_CACHED_MAX,
                'replay_ratio_max': SUM_REPLAY_MAX,
                'replay_met': entry['ratio_replay'] <= SUM_REPLAY_MAX}
            cached_note = judged(entry['ratio_cached'], SUM_CACHED_MAX)
            replay_note = judged(entry['ratio_replay'], SUM_REPLAY_MAX)
        else:
            for side in DRIVERS:
                report.row('%s, %s' % (label, side), ms(entry[side]['median_s']), ms(cf_s),
                           entry['ratio_' + side])
            cached_note = replay_note = '(info)'
        report.say('N=%s (%d tasks): cached %s (%.1f us/task), replay %s (%.1f us/task), '
                   'cf %s (%.1f us/task)'
                   % (format(n, ','), tasks, ms(entry['cached']['median_s']),
                      entry['cached']['per_task_us'], ms(entry['replay']['median_s']),
                      entry['replay']['per_task_us'], ms(cf_s), entry['cf']['per_task_us']))
        report.say('  cached/cf %.2fx %s; replay/cf %.2fx %s'
                   % (entry['ratio_cached'], cached_note, entry['ratio_replay'], replay_note))
    return results


def bench_sum_squares_processes(repeat, say, report):
    n = PROCESS_N
    check = expect(sum_of_squares(n))
    cf_pool, cf_started = warm_process_pool()
    try:
        with sum_squares_workflow(None) as warm:   # LocalWorkflow's default process pool

            def flowy_cold():
                # A fresh LocalWorkflow: its pool starts inside run() and is shut down
                # (with the with block) after the timing.
                with sum_squares_workflow(None) as fresh:
                    return timed(lambda: fresh.run(n))

            def cf_cold():
                pool = None

                def work():
                    nonlocal pool
                    pool = ProcessPoolExecutor(max_workers=WORKERS)
                    return cf_sum_squares(pool, n)
                try:
                    return timed(work)
                finally:
                    if pool is not None:
                        pool.shutdown(wait=True)   # untimed, as flowy's close() is

            # The cold sides time themselves (their set-up and shut-down stay outside).
            entry = measure({
                'flowy_warm': (clocked(lambda: warm.run(n)), check, repeat),
                'cf_warm': (clocked(lambda: cf_sum_squares(cf_pool, n)), check, repeat),
                'flowy_cold': (flowy_cold, check, repeat),
                'cf_cold': (cf_cold, check, repeat),
            }, say)
            flowy_started = pool_processes(warm)
    finally:
        cf_pool.shutdown(wait=True)
    tasks = 2 * n - 1
    for side in ('flowy_warm', 'cf_warm', 'flowy_cold', 'cf_cold'):
        entry[side]['per_task_us'] = entry[side]['median_s'] / tasks * 1e6
    entry['tasks'] = tasks
    entry['cf_warm_pool_processes'] = cf_started
    entry['flowy_warm_pool_processes'] = flowy_started
    entry['ratio_warm'] = entry['flowy_warm']['median_s'] / entry['cf_warm']['median_s']
    entry['ratio_cold'] = entry['flowy_cold']['median_s'] / entry['cf_cold']['median_s']
    entry['targets'] = {'warm_ratio_max': PROCESS_WARM_MAX,
                        'warm_met': entry['ratio_warm'] <= PROCESS_WARM_MAX}
    report.row('SumSquares N=1,000 processes, warm pools, cached',
               ms(entry['flowy_warm']['median_s']), ms(entry['cf_warm']['median_s']),
               entry['ratio_warm'], '<= %gx cf' % PROCESS_WARM_MAX, PROCESS_WARM_MAX)
    report.row('SumSquares N=1,000 processes, cold pools, cached',
               ms(entry['flowy_cold']['median_s']), ms(entry['cf_cold']['median_s']),
               entry['ratio_cold'])
    report.say('warm (pool kept between runs; flowy %s worker processes, cf %d): flowy %s '
               '(%.0f us/task), cf %s (%.0f us/task); flowy/cf %.2fx %s'
               % (flowy_started if flowy_started is not None else '?', cf_started,
                  ms(entry['flowy_warm']['median_s']), entry['flowy_warm']['per_task_us'],
                  ms(entry['cf_warm']['median_s']), entry['cf_warm']['per_task_us'],
                  entry['ratio_warm'], judged(entry['ratio_warm'], PROCESS_WARM_MAX)))
    report.say('cold (a new pool started inside each timed run): flowy %s, cf %s; '
               'flowy/cf %.2fx (info)'
               % (ms(entry['flowy_cold']['median_s']), ms(entry['cf_cold']['median_s']),
                  entry['ratio_cold']))
    return {'sumsquares_processes_%d' % n: entry}


def bench_chain(repeat, say, report):
    results = {}
    with chain_workflow('cached') as cached, chain_workflow('replay') as replayed, \
            ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for n in CHAIN_NS:
            check = expect(n)
            # A thread hand-off costs 20 or 100 us depending on where the threads land,
            # so chains are noisy: every run counts.  Replay (which grows as n^2, and is
            # information only) runs the short chain only, and fewer times.
            short = n == CHAIN_NS[0]
            # The short chain is cheap: three times the runs steady its median, which
            # the growth exponent k depends on.
            runs = 3 * repeat if short else repeat
            sides = {
                'cached': (clocked(lambda n=n: cached.run(n)), check, runs),
                'cf': (clocked(lambda n=n: cf_chain(pool, n)), check, runs),
            }
            if short:
                sides['replay'] = (clocked(lambda n=n: replayed.run(n)), check, min(repeat, FEW))
            entry = measure(sides, say)
            for side in entry:
                entry[side]['per_step_us'] = entry[side]['median_s'] / n * 1e6
            entry['n'] = n
            entry['ratio_cached'] = entry['cached']['median_s'] / entry['cf']['median_s']
            entry['targets'] = {'step_ratio_max': CHAIN_STEP_MAX,
                                'step_met': entry['ratio_cached'] <= CHAIN_STEP_MAX}
            results['chain_threads_%d' % n] = entry

    first, last = (results['chain_threads_%d' % n] for n in CHAIN_NS)
    scale = math.log(CHAIN_NS[1] / CHAIN_NS[0])
    growth = {side: math.log(last[side]['median_s'] / first[side]['median_s']) / scale
              for side in ('cached', 'cf')}
    results['chain_growth'] = {'n': list(CHAIN_NS), 'k_cached': growth['cached'],
                               'k_cf': growth['cf'], 'k_max': CHAIN_K_MAX,
                               'met': growth['cached'] <= CHAIN_K_MAX}

    for n in CHAIN_NS:
        entry = results['chain_threads_%d' % n]
        report.row('Chain n=%s threads, cached, per step' % format(n, ','),
                   us(entry['cached']['per_step_us'] / 1e6),
                   us(entry['cf']['per_step_us'] / 1e6), entry['ratio_cached'],
                   '<= %gx cf' % CHAIN_STEP_MAX, CHAIN_STEP_MAX)
    report.row('Chain growth k (t ~ n^k), %s -> %s, cached'
               % tuple(format(n, ',') for n in CHAIN_NS),
               'k=%.2f' % growth['cached'], 'cf k=%.2f' % growth['cf'], growth['cached'],
               'k <= %g' % CHAIN_K_MAX, CHAIN_K_MAX, ratio_text='%.2f' % growth['cached'])
    short = results['chain_threads_%d' % CHAIN_NS[0]]
    short['ratio_replay'] = short['replay']['median_s'] / short['cf']['median_s']
    report.row('Chain n=%s threads, replay, per step' % format(CHAIN_NS[0], ','),
               us(short['replay']['per_step_us'] / 1e6), us(short['cf']['per_step_us'] / 1e6),
               short['ratio_replay'])

    for n in CHAIN_NS:
        entry = results['chain_threads_%d' % n]
        replay = ('; replay %s = %.0f us/step (info)'
                  % (ms(entry['replay']['median_s']), entry['replay']['per_step_us'])
                  if 'replay' in entry else '')
        report.say('n=%s: cached %s = %.1f us/step, cf %s = %.1f us/step; cached/cf %.2fx %s%s'
                   % (format(n, ','), ms(entry['cached']['median_s']),
                      entry['cached']['per_step_us'], ms(entry['cf']['median_s']),
                      entry['cf']['per_step_us'], entry['ratio_cached'],
                      judged(entry['ratio_cached'], CHAIN_STEP_MAX), replay))
    report.say('growth exponent k, %s -> %s: cached %.2f %s; cf %.2f (info)'
               % (format(CHAIN_NS[0], ','), format(CHAIN_NS[1], ','), growth['cached'],
                  judged(growth['cached'], CHAIN_K_MAX, 'k', ''), growth['cf']))
    return results


def bench_sleep(repeat, say, report):
    check = expect(sum_of_squares(SLEEP_N))
    with sum_squares_workflow(ThreadPoolExecutor, 'cached', sleepy_square, sleepy_add) \
            as cached, \
            sum_squares_workflow(ThreadPoolExecutor, 'replay', sleepy_square, sleepy_add) \
            as replayed, \
            ThreadPoolExecutor(max_workers=WORKERS) as pool:
        entry = measure({
            'cached': (clocked(lambda: cached.run(SLEEP_N)), check, repeat),
            'replay': (clocked(lambda: replayed.run(SLEEP_N)), check, repeat),
            'cf': (clocked(lambda: cf_sum_squares(pool, SLEEP_N, sleepy_square, sleepy_add)),
                   check, repeat),
        }, say)
    for side in ('cached', 'replay', 'cf'):
        entry[side]['over_ideal'] = entry[side]['median_s'] / SLEEP_IDEAL
    entry['tasks'] = 2 * SLEEP_N - 1
    entry['ideal_s'] = SLEEP_IDEAL
    entry['targets'] = {'cached_over_ideal_max': SLEEP_CACHED_MAX,
                        'cached_met': entry['cached']['over_ideal'] <= SLEEP_CACHED_MAX}
    ideal = 'ideal %s' % ms(SLEEP_IDEAL)
    report.row('Sleep 16 x 0.05 s, 8 workers, cached', ms(entry['cached']['median_s']), ideal,
               entry['cached']['over_ideal'], '<= %g x ideal' % SLEEP_CACHED_MAX,
               SLEEP_CACHED_MAX, ratio_text='%.3f' % entry['cached']['over_ideal'])
    report.row('Sleep 16 x 0.05 s, 8 workers, replay', ms(entry['replay']['median_s']), ideal,
               entry['replay']['over_ideal'], ratio_text='%.3f' % entry['replay']['over_ideal'])
    report.say('measured / ideal (%s): cached %.3f %s; replay %.3f (info); cf %.3f (reference)'
               % (ms(SLEEP_IDEAL), entry['cached']['over_ideal'],
                  judged(entry['cached']['over_ideal'], SLEEP_CACHED_MAX, unit=''),
                  entry['replay']['over_ideal'], entry['cf']['over_ideal']))
    return {'sleep_threads_16': entry}


def rss_child(n):
    """In a fresh interpreter: run SumSquares(n) once (cached, threads), print the peak RSS."""
    seconds = None
    if n:
        with sum_squares_workflow(ThreadPoolExecutor, 'cached') as workflow:
            seconds, result = timed(lambda: workflow.run(n))
        expect(sum_of_squares(n))(result)
    print(json.dumps({'n': n, 'tasks': max(0, 2 * n - 1), 'maxrss_kb': maxrss_kb(),
                      'hwm_kb': hwm_kb(), 'run_s': seconds}))


def maxrss_kb():
    """This process's peak RSS in kB, from getrusage (ru_maxrss)."""
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == 'darwin' else peak   # bytes on macOS


def hwm_kb():
    """Linux only: the peak RSS of this process's own memory (VmHWM), else None.

    Unlike ru_maxrss it does not carry over the peak of whatever ran before exec().
    """
    try:
        with open('/proc/self/status', encoding='ascii') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def bench_rss(repeat, say, report):
    """Peak RSS of fresh interpreters (one run each: the figure barely moves).

    On Linux a child's ru_maxrss starts at the peak RSS of the process that started it
    (it is kept across vfork + exec), so this workload runs before the others, while
    this process is as small as a child's baseline; VmHWM, which has no such carry-over,
    is reported beside it as a check.
    """
    launcher_kb = maxrss_kb()
    children = {}
    for n in RSS_NS:
        command = [sys.executable, os.path.abspath(__file__), '--rss-child', str(n),
                   '--run-timeout', str(Limits.run_timeout)]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=Limits.run_timeout + 30)
        except subprocess.TimeoutExpired as exc:
            raise SystemExit('rss child for N=%d did not finish in %.0f s'
                             % (n, exc.timeout)) from exc
        if done.returncode != 0:
            raise SystemExit('rss child for N=%d failed (exit %d):\n%s'
                             % (n, done.returncode, done.stderr))
        children[n] = json.loads(done.stdout.strip().splitlines()[-1])
        say('.')
    base, mid, big = (children[n] for n in RSS_NS)
    mb = 1024.0   # kB per MB (MiB)

    def per_task(child, than, key='maxrss_kb'):
        return (child[key] - than[key]) * 1024.0 / (child['tasks'] - than['tasks'])

    entry = {'launcher_maxrss_kb': launcher_kb, 'baseline_maxrss_kb': base['maxrss_kb'],
             'children': list(children.values()),
             'bytes_per_task_over_baseline': {str(c['n']): per_task(c, base) for c in (mid, big)},
             'bytes_per_task_marginal': per_task(big, mid)}
    for child in (big, mid):
        report.row('Peak RSS SumSquares N=%s threads, cached' % format(child['n'], ','),
                   '%.0f MB' % (child['maxrss_kb'] / mb),
                   '%.0f MB import only' % (base['maxrss_kb'] / mb), None,
                   ratio_text='%.0f B/task' % per_task(child, base))

    def hwm(child):
        return '' if child['hwm_kb'] is None else ' (VmHWM %.1f MB)' % (child['hwm_kb'] / mb)

    report.say('ru_maxrss; import flowy only: %.1f MB%s' % (base['maxrss_kb'] / mb, hwm(base)))
    for child in (mid, big):
        report.say('N=%s (%d tasks, run %s): %.1f MB%s, %.0f bytes/task over the baseline'
                   % (format(child['n'], ','), child['tasks'], ms(child['run_s']),
                      child['maxrss_kb'] / mb, hwm(child), per_task(child, base)))
    report.say('growth N=%s -> %s: %.0f bytes per extra task (info)'
               % (format(mid['n'], ','), format(big['n'], ','), per_task(big, mid)))
    if base['hwm_kb'] is not None and base['maxrss_kb'] > 1.1 * base['hwm_kb']:
        report.say('WARNING: the baseline ru_maxrss exceeds its VmHWM: it carries the peak '
                   'of this process (%.1f MB), which started it; trust VmHWM'
                   % (launcher_kb / mb))
    return {'rss_threads': entry}


def bench_dask(repeat, say, report):
    dask = import_dask()
    if dask is None:
        report.say('dask not installed (published figures, see docs/performance.rst: %s)'
                   % PEERS_DASK)
        return {'dask_threads': {'installed': False, 'peers_perf': PEERS_DASK}}
    results = {}
    for n in SUM_NS:
        check = expect(sum_of_squares(n))
        slow_repeat = repeat if n < 10000 else min(repeat, FEW)
        with sum_squares_workflow(ThreadPoolExecutor, 'cached') as cached, \
                ThreadPoolExecutor(max_workers=WORKERS) as pool:
            entry = measure({
                'dask': (clocked(lambda n=n: dask_sum_squares(dask, n)), check, slow_repeat),
                'cached': (clocked(lambda n=n: cached.run(n)), check, repeat),
                'cf': (clocked(lambda n=n: cf_sum_squares(pool, n)), check, repeat),
            }, say)
        tasks = 2 * n - 1
        entry['tasks'] = tasks
        entry['dask_version'] = dask.__version__
        entry['ratio_dask_cf'] = entry['dask']['median_s'] / entry['cf']['median_s']
        entry['ratio_cached_dask'] = entry['cached']['median_s'] / entry['dask']['median_s']
        results['dask_threads_%d' % n] = entry
        report.row('dask.delayed N=%s threads (flowy cached vs dask)' % format(n, ','),
                   ms(entry['cached']['median_s']), ms(entry['dask']['median_s']),
                   entry['ratio_cached_dask'])
        report.say('N=%s: dask %s (%.0f us/task, %.1fx cf); flowy cached %s; cf %s'
                   % (format(n, ','), ms(entry['dask']['median_s']),
                      entry['dask']['median_s'] / tasks * 1e6, entry['ratio_dask_cf'],
                      ms(entry['cached']['median_s']), ms(entry['cf']['median_s'])))
    return results


# The order the final table lists them in.
TABLE_ORDER = ('sumsquares-threads', 'sumsquares-processes', 'chain', 'sleep', 'rss', 'dask')

# The order they run in.  rss runs first: see bench_rss.
WORKLOADS = (
    ('rss', 'Peak RSS (fresh interpreters)', bench_rss),
    ('sumsquares-threads', 'SumSquares threads', bench_sum_squares_threads),
    ('sumsquares-processes', 'SumSquares processes', bench_sum_squares_processes),
    ('chain', 'Chain threads', bench_chain),
    ('sleep', 'Sleep 16 x 0.05 s threads', bench_sleep),
    ('dask', 'dask.delayed threads', bench_dask),
)


# -- report ---------------------------------------------------------------------------

def base_environment():
    """The machine, the Python and the flowy commit a benchmark ran on."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    here = os.path.dirname(os.path.abspath(__file__))
    try:
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
        'flowy_version': flowy.__version__,
        'git_commit': commit or None,
    }


def environment():
    dask = import_dask()
    return dict(base_environment(), mp_start_method=multiprocessing.get_start_method(),
                activity_workers=WORKERS,
                dask_version=dask.__version__ if dask is not None else None)


def print_table(rows):
    header = ('workload', 'flowy', 'baseline', 'ratio', 'target', 'verdict')
    keys = ('workload', 'flowy', 'baseline', 'ratio', 'target', 'verdict')
    lines = [header] + [tuple(row[key] for key in keys) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(keys))]
    fmt = '  '.join(['%%-%ds' % widths[0]] + ['%%%ds' % w for w in widths[1:4]]
                    + ['%%-%ds' % widths[4], '%s'])
    print(fmt % header)
    print('  '.join('-' * w for w in widths))
    for line in lines[1:]:
        print(fmt % line)


def run_and_report(selected, repeat, say, args, env, table_order, *extra):
    """Run the ``selected`` workloads (``bench(repeat, say, report, *extra)`` each), print
    their lines, the table sorted by ``table_order`` and the verdicts; write ``--json``."""
    results = {}
    report = Report()
    started = time.perf_counter()
    for name, label, bench in selected:
        say('%-30s ' % label)
        t0 = time.perf_counter()
        report.lines = []
        report.workload = name
        results.update(bench(repeat, say, report, *extra))
        say(' %.1f s\n' % (time.perf_counter() - t0))
        for line in report.lines:
            print('  ' + line)
    total = time.perf_counter() - started

    print()
    print_table(sorted(report.rows, key=lambda row: table_order.index(row['group'])))
    verdicts = [row['verdict'] for row in report.rows]
    print()
    print('Targets: %d PASS, %d FAIL (%d rows for information).  All results checked '
          'correct.  Total benchmark time %.1f s.'
          % (verdicts.count('PASS'), verdicts.count('FAIL'), verdicts.count('info'), total))

    if args.json:
        with open(args.json, 'w', encoding='utf-8') as stream:
            json.dump({'environment': env, 'repeat': repeat, 'quick': args.quick,
                       'only': args.only, 'total_s': total, 'results': results,
                       'table': report.rows}, stream, indent=2)
            stream.write('\n')
        print('Figures written to %s' % args.json)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='3 timed runs per workload instead of 5 (same sizes)')
    parser.add_argument('--repeat', type=int, default=None,
                        help='timed runs per workload (default 5, or 3 with --quick); the '
                             'slow information-only sides (replay chain, dask at 10,000) '
                             'take at most %d' % FEW)
    parser.add_argument('--only', metavar='NAME', action='append',
                        choices=[name for name, _, _ in WORKLOADS],
                        help='run only this workload (may be given more than once): '
                             + ', '.join(name for name, _, _ in WORKLOADS))
    parser.add_argument('--json', metavar='PATH', help='also write the figures to PATH')
    parser.add_argument('--run-timeout', type=float, default=Limits.run_timeout,
                        help='seconds; abort everything (dumping the stacks) if one run '
                             'takes longer (default %(default)s)')
    parser.add_argument('--rss-child', type=int, metavar='N', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    if repeat < 1:
        parser.error('--repeat must be at least 1')
    Limits.run_timeout = args.run_timeout
    if args.rss_child is not None:
        rss_child(args.rss_child)
        return 0

    env = environment()
    print('flowy %s (%s) local engine, drivers cached and replay, vs concurrent.futures'
          % (env['flowy_version'], env['git_commit'] or 'no git'))
    print('date %s | Python %s (%s) | %d CPUs (%s usable) | %s | mp start method %s'
          % (env['date'], env['python'], env['implementation'], env['cpu_count'],
             env['cpus_usable'], env['platform'], env['mp_start_method']))
    print('%d activity workers; 1 untimed warm-up + %d timed runs per side (%d for the replay '
          'chain), medians shown; dask %s'
          % (WORKERS, repeat, min(repeat, FEW), env['dask_version'] or 'not installed'))
    print()

    def say(text):
        sys.stdout.write(text)
        sys.stdout.flush()

    selected = [w for w in WORKLOADS if not args.only or w[0] in args.only]
    return run_and_report(selected, repeat, say, args, env, TABLE_ORDER)


if __name__ == '__main__':
    sys.exit(main())
