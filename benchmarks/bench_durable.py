"""What a run store costs: flowy's local engine with and without one, and DBOS on SQLite.

Run by hand, never from the test suite::

    python benchmarks/bench_durable.py [--quick] [--repeat N] [--only NAME] [--json out.json]

Workloads (``--only`` names; benchmarks/README.rst says what each figure means):

``chain``
    ``x = inc(x)`` 1,000 times on threads (cached driver), in memory, with a store at
    ``durability='normal'`` and at ``durability='fsync'``: the time per step, the
    durable overhead per step (store minus memory), and, for information, the store
    alone recording the same decisions without the engine.
``dbos``
    The same chain as DBOS workflow steps on SQLite (a child process, when ``dbos`` is
    installed), alternating with flowy's durable chain; without DBOS, the reference
    figure measured earlier.
``sumsquares``
    ``square`` over range(10,000) then ``parallel_reduce`` with ``add`` on threads,
    with a store (``'normal'``; ``'fsync'`` for information) and in memory.

Each side gets one untimed warm-up run, then ``--repeat`` timed runs (the sides
alternate), and the median is reported.  Every result is checked.  The stores are
SQLite files in a fresh temporary directory (``--dir`` to choose where: ``fsync``
figures mean nothing on tmpfs).
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from bench_local import (
    Chain,
    Limits,
    SumSquares,
    add,
    base_environment,
    clocked,
    expect,
    inc,
    judged,
    measure,
    ms,
    run_and_report,
    square,
    sum_of_squares,
    timed,
)

from flowy import LocalWorkflow
from flowy.local.store import SQLiteStore

CHAIN_N = 1000
SUM_N = 10000
FEW = 3                     # at most this many timed runs of the DBOS chain

# Targets.
CHAIN_STEP_MAX_US = 200.0   # the durable ('normal') chain step, absolute
DBOS_RATIO_MAX = 0.1        # flowy durable step / DBOS step: at least 10x cheaper
SUM_STORE_MAX = 1.5         # SumSquares(10,000) threads, with a store / in memory

# DBOS 3.4.0 on SQLite, measured earlier on this machine kind (2 cores, CPython 3.11).
DBOS_REFERENCE_MS = 2.35
DBOS_REFERENCE = ('DBOS 3.4.0 on SQLite, 1,000-step chain, earlier measurement on a '
                  'similar 2-core machine: 2.35 ms/step')


# -- workflows -------------------------------------------------------------------------

def workflow(factory, store=None, durability='normal', **activities):
    """A LocalWorkflow on threads (8 workers); use it in a ``with`` block."""
    w = LocalWorkflow(factory, executor=ThreadPoolExecutor, store=store,
                      durability=durability)
    for name, func in activities.items():
        w.conf_activity(name, func)
    return w


def chain_workflow(store=None, durability='normal'):
    return workflow(Chain, store, durability, inc=inc)


def sum_squares_workflow(store=None, durability='normal'):
    return workflow(SumSquares, store, durability, square=square, add=add)


def store_alone(store, n):
    """Record the decisions of an n-step chain in ``store``, without the engine.

    Each decision holds what the engine records for a chain step: the previous call's
    outcome and the next call.
    """
    run_id = store.create_run('Chain', '[[%d],{}]' % n)
    previous = None
    for i in range(n):
        key = 'inc-%d-0' % i
        with store.decision(run_id) as writer:
            if previous is not None:
                writer.completed(previous, str(i), time.time())
            writer.scheduled(key, 'inc', i, '[[%d],{}]' % i,
                             (previous,) if previous is not None else ())
        previous = key
    with store.decision(run_id) as writer:
        writer.completed(previous, str(n), time.time())
        writer.finish(str(n))
    return n


# -- DBOS (in a child process: its threads and its database stay out of this one) ------

def import_dbos():
    try:
        import dbos
    except ImportError:
        return None
    return dbos


def dbos_version():
    try:
        from importlib.metadata import version
        return version('dbos')
    except Exception:   # not installed, or no metadata
        return None


def dbos_child(directory):
    """``--dbos-child DIR``: answer ``run N`` lines on stdin with one timed DBOS chain."""
    import logging

    # Replies go to the real stdout; anything DBOS prints goes to stderr.
    replies = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    from dbos import DBOS
    logging.getLogger('dbos').setLevel(logging.WARNING)
    DBOS(config={'name': 'flowy-bench-durable', 'log_level': 'WARNING',
                 'system_database_url': 'sqlite:///%s'
                 % os.path.join(directory, 'dbos.sqlite')})

    @DBOS.step()
    def dbos_inc(x):
        return x + 1

    @DBOS.workflow()
    def dbos_chain(n):
        x = 0
        for _ in range(n):
            x = dbos_inc(x)
        return x

    DBOS.launch()
    try:
        print(json.dumps({'ready': True}), file=replies, flush=True)
        for line in sys.stdin:
            command = line.split()
            if not command or command[0] != 'run':
                break
            n = int(command[1])
            seconds, result = timed(lambda n=n: dbos_chain(n))
            print(json.dumps({'seconds': seconds, 'result': result}), file=replies,
                  flush=True)
    finally:
        DBOS.destroy()


class DBOSChild:
    """The child process running DBOS chains on request."""

    def __init__(self, directory):
        command = [sys.executable, os.path.abspath(__file__), '--dbos-child', directory,
                   '--run-timeout', str(Limits.run_timeout)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True,
                                        cwd=directory)
        self._reply()

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit('the DBOS child process ended (exit %s)' % self.process.wait())
        return json.loads(line)

    def run(self, n):
        self.process.stdin.write('run %d\n' % n)
        self.process.stdin.flush()
        reply = self._reply()
        return reply['seconds'], reply['result']

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


# -- the workloads ---------------------------------------------------------------------

def per_step(entry, sides, n):
    for side in sides:
        entry[side]['per_step_us'] = entry[side]['median_s'] / n * 1e6


def us(value):
    return '%.0f us' % value


def bench_chain(repeat, say, report, directory):
    n = CHAIN_N
    check = expect(n)
    with chain_workflow() as memory, \
            chain_workflow(os.path.join(directory, 'chain-normal.db')) as normal, \
            chain_workflow(os.path.join(directory, 'chain-fsync.db'), 'fsync') as fsync, \
            SQLiteStore(os.path.join(directory, 'store-alone.db')) as alone:
        entry = measure({
            'memory': (clocked(lambda: memory.run(n)), check, repeat),
            'normal': (clocked(lambda: normal.run(n)), check, repeat),
            'fsync': (clocked(lambda: fsync.run(n)), check, repeat),
            'store_alone': (clocked(lambda: store_alone(alone, n)), check, repeat),
        }, say)
    per_step(entry, ('memory', 'normal', 'fsync', 'store_alone'), n)
    step = {side: entry[side]['per_step_us'] for side in entry}
    entry['n'] = n
    entry['overhead_normal_us'] = step['normal'] - step['memory']
    entry['overhead_fsync_us'] = step['fsync'] - step['memory']
    entry['targets'] = {'normal_step_max_us': CHAIN_STEP_MAX_US,
                        'normal_met': step['normal'] <= CHAIN_STEP_MAX_US}
    report.row('Chain n=1,000 threads, store normal, per step', us(step['normal']),
               'memory %s' % us(step['memory']), step['normal'],
               '<= %g us' % CHAIN_STEP_MAX_US, CHAIN_STEP_MAX_US,
               ratio_text='%.2fx' % (step['normal'] / step['memory']))
    report.row('Chain n=1,000 threads, store fsync, per step', us(step['fsync']),
               'memory %s' % us(step['memory']), None,
               ratio_text='%.2fx' % (step['fsync'] / step['memory']))
    report.row('Chain durable overhead per step (normal - memory)',
               us(entry['overhead_normal_us']), '-', None)
    report.row('Store alone, chain decisions, per decision', us(step['store_alone']), '-',
               None)
    report.say('n=%s per step: memory %.1f us, store normal %.1f us %s, store fsync %.1f us'
               % (format(n, ','), step['memory'], step['normal'],
                  judged(step['normal'], CHAIN_STEP_MAX_US, unit=' us'), step['fsync']))
    report.say('durable overhead per step (store - memory): normal %.1f us, fsync %.1f us; '
               'the store alone (same decisions, no engine) %.1f us per decision'
               % (entry['overhead_normal_us'], entry['overhead_fsync_us'],
                  step['store_alone']))
    return {'chain_threads_1000': entry}


def bench_dbos(repeat, say, report, directory):
    n = CHAIN_N
    check = expect(n)
    dbos = import_dbos()
    results = {}
    with chain_workflow(os.path.join(directory, 'dbos-flowy-normal.db')) as normal, \
            chain_workflow(os.path.join(directory, 'dbos-flowy-fsync.db'), 'fsync') as fsync:
        sides = {'flowy_normal': (clocked(lambda: normal.run(n)), check, repeat),
                 'flowy_fsync': (clocked(lambda: fsync.run(n)), check, repeat)}
        child = None
        if dbos is not None:
            child_dir = os.path.join(directory, 'dbos')
            os.mkdir(child_dir)
            child = DBOSChild(child_dir)
            sides['dbos'] = (lambda: child.run(n), check, min(repeat, FEW))
        try:
            entry = measure(sides, say)
        finally:
            if child is not None:
                child.close()
    per_step(entry, list(entry), n)
    flowy_us = entry['flowy_normal']['per_step_us']
    fsync_us = entry['flowy_fsync']['per_step_us']
    if dbos is not None:
        dbos_us = entry['dbos']['per_step_us']
        entry['dbos_version'] = dbos_version()
        label, baseline = 'DBOS %s' % entry['dbos_version'], 'DBOS %.2f ms' % (dbos_us / 1e3)
    else:
        dbos_us = DBOS_REFERENCE_MS * 1e3
        entry['dbos'] = {'installed': False, 'reference_ms_per_step': DBOS_REFERENCE_MS}
        label, baseline = 'DBOS reference', 'ref. %.2f ms' % DBOS_REFERENCE_MS
    entry['n'] = n
    entry['ratio_normal'] = flowy_us / dbos_us
    entry['ratio_fsync'] = fsync_us / dbos_us
    entry['targets'] = {'normal_ratio_max': DBOS_RATIO_MAX,
                        'normal_met': entry['ratio_normal'] <= DBOS_RATIO_MAX,
                        'same_run': dbos is not None}
    report.row('Chain n=1,000 per step, store normal vs %s' % label, us(flowy_us),
               baseline, entry['ratio_normal'],
               '<= %gx DBOS' % DBOS_RATIO_MAX, DBOS_RATIO_MAX)
    report.row('Chain n=1,000 per step, store fsync vs %s' % label, us(fsync_us),
               baseline, entry['ratio_fsync'])
    if dbos is None:
        report.say('dbos not installed: compared with the reference figure (%s), not '
                   'measured in this run' % DBOS_REFERENCE)
    else:
        report.say('DBOS %s on SQLite (its default: rollback journal, synchronous=FULL, '
                   'so it survives a power loss like fsync): %.2f ms/step (%d runs)'
                   % (entry['dbos_version'], dbos_us / 1e3, len(entry['dbos']['runs_s'])))
    report.say('flowy per step: normal %.1f us, %.1fx cheaper than %s %s; fsync %.1f us, '
               '%.1fx cheaper (info)'
               % (flowy_us, dbos_us / flowy_us, label, judged(entry['ratio_normal'],
                                                               DBOS_RATIO_MAX),
                  fsync_us, dbos_us / fsync_us))
    results['dbos_chain_1000'] = entry
    return results


def bench_sum_squares(repeat, say, report, directory):
    n = SUM_N
    tasks = 2 * n - 1
    check = expect(sum_of_squares(n))
    with sum_squares_workflow() as memory, \
            sum_squares_workflow(os.path.join(directory, 'sum-normal.db')) as normal, \
            sum_squares_workflow(os.path.join(directory, 'sum-fsync.db'), 'fsync') as fsync:
        entry = measure({
            'memory': (clocked(lambda: memory.run(n)), check, repeat),
            'normal': (clocked(lambda: normal.run(n)), check, repeat),
            'fsync': (clocked(lambda: fsync.run(n)), check, repeat),
        }, say)
    for side in ('memory', 'normal', 'fsync'):
        entry[side]['per_task_us'] = entry[side]['median_s'] / tasks * 1e6
    memory_s = entry['memory']['median_s']
    entry['tasks'] = tasks
    entry['ratio_normal'] = entry['normal']['median_s'] / memory_s
    entry['ratio_fsync'] = entry['fsync']['median_s'] / memory_s
    entry['targets'] = {'normal_ratio_max': SUM_STORE_MAX,
                        'normal_met': entry['ratio_normal'] <= SUM_STORE_MAX}
    label = 'SumSquares N=%s threads' % format(n, ',')
    report.row(label + ', store normal', ms(entry['normal']['median_s']),
               'memory %s' % ms(memory_s), entry['ratio_normal'],
               '<= %gx memory' % SUM_STORE_MAX, SUM_STORE_MAX)
    report.row(label + ', store fsync', ms(entry['fsync']['median_s']),
               'memory %s' % ms(memory_s), entry['ratio_fsync'])
    report.say('N=%s (%d tasks): memory %s (%.1f us/task), store normal %s (%.1f us/task), '
               'store fsync %s (%.1f us/task)'
               % (format(n, ','), tasks, ms(memory_s), entry['memory']['per_task_us'],
                  ms(entry['normal']['median_s']), entry['normal']['per_task_us'],
                  ms(entry['fsync']['median_s']), entry['fsync']['per_task_us']))
    report.say('  normal/memory %.2fx %s; fsync/memory %.2fx (info)'
               % (entry['ratio_normal'], judged(entry['ratio_normal'], SUM_STORE_MAX),
                  entry['ratio_fsync']))
    return {'sumsquares_threads_10000': entry}


TABLE_ORDER = ('chain', 'dbos', 'sumsquares')
WORKLOADS = (
    ('chain', 'Chain threads', bench_chain),
    ('dbos', 'Chain vs DBOS', bench_dbos),
    ('sumsquares', 'SumSquares threads', bench_sum_squares),
)


# -- report ----------------------------------------------------------------------------

def file_system(path):
    """The type of the file system holding ``path`` (Linux), or None."""
    try:
        with open('/proc/mounts', encoding='utf-8') as mounts:
            entries = [line.split() for line in mounts]
    except OSError:
        return None
    path = os.path.realpath(path)
    best = None
    for entry in entries:
        if len(entry) > 2 and (path == entry[1] or path.startswith(entry[1].rstrip('/') + '/')):
            if best is None or len(entry[1]) >= len(best[1]):
                best = entry
    return best[2] if best else None


def environment(directory):
    return dict(base_environment(), sqlite_version=sqlite3.sqlite_version,
                dbos_version=dbos_version() if import_dbos() is not None else None,
                store_dir=directory, store_fs=file_system(directory))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='3 timed runs per side instead of 5 (same sizes)')
    parser.add_argument('--repeat', type=int, default=None,
                        help='timed runs per side (default 5, or 3 with --quick); the '
                             'DBOS chain takes at most %d' % FEW)
    parser.add_argument('--only', metavar='NAME', action='append',
                        choices=[name for name, _, _ in WORKLOADS],
                        help='run only this workload (may be given more than once): '
                             + ', '.join(name for name, _, _ in WORKLOADS))
    parser.add_argument('--dir', metavar='PATH',
                        help='make the stores in a new directory under PATH (default: '
                             'the system temporary directory); it is removed at the end')
    parser.add_argument('--json', metavar='PATH', help='also write the figures to PATH')
    parser.add_argument('--run-timeout', type=float, default=Limits.run_timeout,
                        help='seconds; abort everything (dumping the stacks) if one run '
                             'takes longer (default %(default)s)')
    parser.add_argument('--dbos-child', metavar='DIR', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    if repeat < 1:
        parser.error('--repeat must be at least 1')
    Limits.run_timeout = args.run_timeout
    if args.dbos_child is not None:
        dbos_child(args.dbos_child)
        return 0

    directory = tempfile.mkdtemp(prefix='flowy-bench-durable-', dir=args.dir)
    try:
        return run_all(args, repeat, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_all(args, repeat, directory):
    env = environment(directory)
    print('flowy %s (%s) local engine with a run store (SQLite %s) vs in memory and DBOS'
          % (env['flowy_version'], env['git_commit'] or 'no git', env['sqlite_version']))
    print('date %s | Python %s (%s) | %d CPUs (%s usable) | %s'
          % (env['date'], env['python'], env['implementation'], env['cpu_count'],
             env['cpus_usable'], env['platform']))
    print('stores in %s (%s); 1 untimed warm-up + %d timed runs per side (DBOS at most %d), '
          'medians shown; dbos %s'
          % (directory, env['store_fs'] or 'file system unknown', repeat, min(repeat, FEW),
             env['dbos_version'] or 'not installed'))
    if env['store_fs'] in ('tmpfs', 'ramfs'):
        print('WARNING: the stores are in memory (%s): fsync costs nothing there; use '
              '--dir on a disk' % env['store_fs'])
    print()

    def say(text):
        sys.stdout.write(text)
        sys.stdout.flush()

    selected = [w for w in WORKLOADS if not args.only or w[0] in args.only]
    return run_and_report(selected, repeat, say, args, env, TABLE_ORDER, directory)


if __name__ == '__main__':
    sys.exit(main())
