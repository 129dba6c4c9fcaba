"""flowy's SWF decider against a loopback moto server: decider CPU and SWF API calls.

Run by hand, never from the test suite::

    python benchmarks/bench_swf.py [--quick] [--repeat N] [--only NAME] [--json out.json]

Three processes take part, so that this one runs nothing but the decider:

* a moto server with the test extension ``tests/swf/moto_ext.py`` installed (SWF's
  paging, one decision task at a time, a short empty poll), on 127.0.0.1 only;
* one activity worker (flowy's ``SWFActivityWorker``), which counts its SWF calls;
* this process: ``SWFWorkflowWorker`` polling and handling decision tasks in a loop
  (what ``run_forever`` does) that reads ``time.process_time`` around each poll and
  each ``handle``, and around every boto3 call.  Each decision's CPU thus splits into
  flowy's own work and boto3's.

Workloads (``--only`` names; benchmarks/README.rst explains every figure):

``chain``
    ``x = inc(x)`` 850 times (6 events per step, 5,103 events at the last decision):
    decider CPU per decision when the history holds about 100 and about 5,000 events,
    cached driver with its default paging ("page auto") and at page size 1000, replay
    driver at 1000.
``sumsquares``
    SumSquares(1,000): 1,000 ``square`` activities reduced by ``parallel_reduce`` over
    ``add`` (1,999 activities): total decider CPU (the whole run's, with the thread
    that sends held answers), decision tasks, SWF API calls per completed activity and
    wall time, for each driver.

The deciders run with their default settings (``--batch-wait`` and ``--page-size``
change them); the targets are judged for the default paging only.  Chain figures are
medians over the decisions of a window (and over rounds with ``--repeat``); SumSquares
figures are medians over rounds.  Every result is checked.
"""

import argparse
import cProfile
import gc
import io
import json
import logging
import os
import pstats
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter

from bench_local import base_environment

from flowy import parallel_reduce
from flowy.serialization import loads
from flowy.swf.activity import SWFActivityWorker
from flowy.swf.client import SWFClient
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig
from flowy.swf.decider import SWFWorkflowWorker

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS_SWF = os.path.join(ROOT, 'tests', 'swf')   # moto_ext.py lives there

DOMAIN = 'flowy-bench'
DECISIONS = 'bench-decisions'
WORK = 'bench-work'
REGION = 'us-east-1'
DUMMY_CREDENTIALS = {
    'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_SESSION_TOKEN': 'testing', 'AWS_DEFAULT_REGION': REGION,
}


class Sizes:
    """The sizes of a full run; --quick shrinks them (its figures are not judged)."""

    def __init__(self, quick=False):
        self.quick = quick
        self.chain_steps = 200 if quick else 850        # 3 + 6 * 850 = 5,103 events
        self.lengths = (100, 1000) if quick else (100, 5000)
        self.sum_n = 200 if quick else 1000             # N squares + N - 1 adds


EVENTS_PER_STEP = 6         # a chain step: DecisionTaskCompleted, ActivityTaskScheduled,
                            # -Started, -Completed, DecisionTaskScheduled, -Started
WINDOW = 8                  # decisions measured around each history length


class PageSize(int):
    """A page size that reads 'auto' for 0, the decider's default."""

    def __str__(self):
        return 'auto' if self == 0 else int.__str__(self)


# The cached decider's maximumPageSize: 0 is its default (a small newest-first first page
# sized to what decision tasks bring, whole histories read forward in pages of 1,000);
# 1000 is SWF's default, every page at its largest.
PAGE_SIZES = (PageSize(0), PageSize(1000))
SIMPLEFLOW_US_PER_EVENT = 34.0  # simpleflow's decider re-parses the whole history each time
SIMPLEFLOW_MAPSUM_1000_S = 1.30  # its MapSum(1,000) with the fewest decision tasks (13)

# Targets (the issue's).
FLAT_MAX = 1.5              # cached: CPU per decision at ~5,000 events / at ~100 events
SUM_CPU_MAX = 0.3           # cached: decider CPU for the whole SumSquares(1,000), seconds
SUM_RATIO_MAX = 3.0         # cached: SumSquares decider CPU incl. boto3 / flowy's own
CALLS_MAX = 2.5             # cached: SWF calls per SumSquares activity (decider + worker)

PROCESS_LIFETIME = 1800.0   # no helper process outlives this, whatever happens here


# -- activities and workflows ------------------------------------------------------------

# No activity timeouts: none would fire here, and moto (with moto_ext) checks every open
# activity's timeouts on every call, which made moto the bottleneck of SumSquares.
activities = SWFActivityConfig(default_task_list=WORK, default_heartbeat='NONE',
                               default_schedule_to_close='NONE',
                               default_schedule_to_start='NONE', default_start_to_close='NONE')


def square(n):
    return n * n


def add(a, b):
    return a + b


def inc(x):
    return x + 1


ACTIVITIES = (square, add, inc)

summing = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=3600,
                            default_decision_duration=300, default_child_policy='TERMINATE')
summing.conf_activity('square', version='1')
summing.conf_activity('add', version='1')

chaining = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=3600,
                             default_decision_duration=300, default_child_policy='TERMINATE')
chaining.conf_activity('inc', version='1')


class SumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


class Chain:
    def __init__(self, inc):
        self.inc = inc

    def __call__(self, n):
        x = 0
        for _ in range(n):
            x = self.inc(x)
        return x


WORKFLOWS = ((summing, SumSquares), (chaining, Chain))


# -- counting SWF calls ----------------------------------------------------------------

class MeteredBoto3:
    """Stands in for a boto3 SWF client: counts each call and the CPU spent inside it.

    ``cpu`` is the CPU time spent in boto3 (``time.thread_time`` of the calling thread:
    the decider answers held tasks from a thread of its own): building and signing the
    request, and parsing the response (waiting on the socket costs no CPU).  Polls
    that return no task are counted apart (``empty``).  ``closing`` is set by a
    response that closes an execution: (decision type, its attributes).
    """

    def __init__(self, client):
        self._client = client
        self.meta = client.meta
        self.calls = Counter()
        self.empty = Counter()
        self.cpu = 0.0
        self.empty_cpu = 0.0  # of cpu, in polls that brought no task
        self.cpu_by_call = Counter()
        self.closing = None
        self._methods = {}
        self._lock = threading.Lock()

    def __getattr__(self, name):
        method = self._methods.get(name)
        if method is None:
            method = self._methods[name] = self._metered(name, getattr(self._client, name))
        return method

    def _metered(self, name, call):
        clock = time.thread_time

        def metered(**kwargs):
            start = clock()
            try:
                response = call(**kwargs)
            finally:
                spent = clock() - start
                with self._lock:
                    self.cpu += spent
                    self.cpu_by_call[name] += spent
            with self._lock:
                self.calls[name] += 1
            if name.startswith('poll_for') and not response.get('taskToken'):
                with self._lock:
                    self.empty[name] += 1
                    self.empty_cpu += spent
            elif name == 'respond_decision_task_completed':
                for decision in kwargs.get('decisions') or ():
                    kind = decision['decisionType']
                    if kind.endswith('WorkflowExecution'):
                        key = kind[0].lower() + kind[1:] + 'DecisionAttributes'
                        self.closing = (kind, decision.get(key) or {})
            return response
        return metered

    def snapshot(self):
        return {'calls': dict(self.calls), 'empty': dict(self.empty), 'cpu_s': self.cpu,
                'empty_cpu_s': self.empty_cpu, 'cpu_by_call': dict(self.cpu_by_call)}


def boto3_client(endpoint, **options):
    """A boto3 client made as SWFClient makes its own (70 s read timeout, standard
    retries), on the endpoint, with SWFClient's ``options`` (the decider's: those of
    SWFWorkflowWorker.client_options, as run_forever makes it)."""
    return SWFClient(kwargs={'region_name': REGION, 'endpoint_url': endpoint},
                     **options).client


# -- the helper processes --------------------------------------------------------------

def _watch_parent(stop):
    """Call ``stop()`` when stdin closes: the benchmark process ended (or died)."""
    def watch():
        try:
            while os.read(0, 4096):   # unbuffered: no lock held at interpreter shutdown
                pass
        except OSError:
            pass
        stop()
    threading.Thread(target=watch, daemon=True).start()


def serve_moto(lifetime):
    """Child: a moto server with moto_ext on 127.0.0.1; ends with stdin or after lifetime."""
    sys.path.insert(0, TESTS_SWF)
    import moto_ext
    from moto.server import ThreadedMotoServer

    logging.getLogger('werkzeug').setLevel(logging.ERROR)   # no line per request
    moto_ext.install()
    moto_ext.set_page_size(None)       # SWF's cap: 1,000 events a page
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    done = threading.Event()
    _watch_parent(done.set)
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(json.dumps({'endpoint': 'http://%s:%d' % (host, port), 'moto': moto_ext.MOTO_VERSION,
                      'poll_wait_s': moto_ext._settings['poll_wait']}), flush=True)
    done.wait(lifetime)
    server.stop()


def serve_activities(endpoint, lifetime):
    """Child: one SWFActivityWorker on WORK until SIGTERM, stdin closing or lifetime.

    Prints {"ready": true} before it polls, and its call counts when it ends.
    """
    metered = MeteredBoto3(boto3_client(endpoint))
    worker = SWFActivityWorker()
    for function in ACTIVITIES:
        worker.register(activities, function, '1')
    _watch_parent(worker.stop)
    timer = threading.Timer(lifetime, worker.stop)
    timer.daemon = True
    timer.start()
    print(json.dumps({'ready': True}), flush=True)
    start = time.process_time()
    worker.run_forever(DOMAIN, WORK, swf_client=SWFClient(client=metered), setup_log=False,
                       register_remote=False, identity='bench-activities')
    print(json.dumps(dict(metered.snapshot(), process_cpu_s=time.process_time() - start)),
          flush=True)


def child_environment():
    env = dict(os.environ)
    env.pop('AWS_PROFILE', None)
    env.update(DUMMY_CREDENTIALS)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [ROOT, env.get('PYTHONPATH')]))
    return env


class Child:
    """A helper process (this script with a hidden option); stop() always ends it."""

    def __init__(self, what, *args, timeout=60):
        command = [sys.executable, os.path.abspath(__file__), '--' + what,
                   *map(str, args), '--lifetime', str(PROCESS_LIFETIME)]
        self.what = what
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=child_environment())
        self.first = self.read_line(timeout)

    def read_line(self, timeout):
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else b''
        if not line:
            self.stop()
            raise SystemExit('the %s process gave no answer in %.0f s (exit status %s)'
                             % (self.what, timeout, self.process.returncode))
        return json.loads(line)

    def cpu_s(self):
        """CPU seconds the process has used so far (Linux: /proc), or None."""
        try:
            with open('/proc/%d/stat' % self.process.pid, encoding='ascii') as stat:
                fields = stat.read().rsplit(')', 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
        except (OSError, ValueError, IndexError):
            return None

    def finish(self, timeout=30):
        """SIGTERM (a worker finishes its task, then stops); return its last line."""
        self.process.send_signal(signal.SIGTERM)
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.stop()
            raise SystemExit('the %s process did not stop in %.0f s'
                             % (self.what, timeout)) from exc
        lines = out.decode().strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def stop(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


# -- one run ----------------------------------------------------------------------------

class Limits:
    run_timeout = 600.0


class Profile:
    profiler = None


class Service:
    """The moto server, and a plain (unmetered) client for setting up and checking."""

    def __init__(self, server):
        self.server = server
        self.endpoint = server.first['endpoint']
        self.client = SWFClient(client=boto3_client(self.endpoint))

    def reset(self):
        """Forget every execution (moto's calls slow down as they pile up); register types."""
        request = urllib.request.Request(self.endpoint + '/moto-api/reset', method='POST')
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        self.client.register_domain(DOMAIN)
        types = SWFActivityWorker()
        for function in ACTIVITIES:
            types.register(activities, function, '1')
        types.register_remote(self.client, DOMAIN)


class Batching:
    batch_wait = None  # --batch-wait: the deciders' batch_wait (None: their default)


def new_decider(driver, page_size):
    options = {} if Batching.batch_wait is None else {'batch_wait': Batching.batch_wait}
    decider = SWFWorkflowWorker(driver=driver, page_size=int(page_size or 0) or None,
                                **options)
    for config, factory in WORKFLOWS:
        decider.register(config, factory, '1')
    return decider


def run_workflow(service, name, n, page_size, pick=None):
    """Start ``name(n)`` and decide it here until it closes; one activity worker helps.

    The cached decider polls with ``page_size`` (None: SWF's default, 1000), the
    replay decider with SWF's default.  ``pick(started)`` names the driver for the next
    decision task, given the startedEventId of the last one (default: cached).
    """
    service.reset()
    deciders = {'cached': new_decider('cached', page_size), 'replay': new_decider('replay', None)}
    deciders['cached'].register_remote(service.client, DOMAIN)
    metered = MeteredBoto3(boto3_client(service.endpoint, **SWFWorkflowWorker.client_options))
    client = SWFClient(client=metered)
    worker = Child('serve-activities', service.endpoint)
    try:
        gc.collect()
        moto_cpu0 = service.server.cpu_s()
        workflow = deciders['cached'].registry[(name, '1')]
        wall0 = time.perf_counter()
        service.client.start_workflow_execution(
            DOMAIN, '%s-%d' % (name, time.monotonic_ns()), name, '1',
            input=workflow._encode_input([n], {}))
        cpu0 = time.process_time()
        records, empty_cpu = decide_until_closed(metered, client, deciders,
                                                 pick or (lambda _: 'cached'), wall0)
        for decider in deciders.values():
            decider.flush()  # nothing is held once the run closed; if it were, it is sent
        run_cpu = time.process_time() - cpu0 - empty_cpu
        wall = time.perf_counter() - wall0
        moto_cpu1 = service.server.cpu_s()
    finally:
        counts = worker.finish()
    kind, attributes = metered.closing
    if kind != 'CompleteWorkflowExecution':
        raise SystemExit('%s(%d) did not complete: %s %s' % (name, n, kind, attributes))
    result = loads(attributes['result'])
    expected = n if name == 'Chain' else sum(i * i for i in range(n))
    if result != expected:
        raise SystemExit('%s(%d) returned %r, expected %r' % (name, n, result, expected))
    for driver, decider in deciders.items():
        if decider.stats['failed'] or decider.stats['unanswered']:
            raise SystemExit('the %s decider failed or left tasks unanswered: %s'
                             % (driver, decider.stats))
    return {
        'records': records, 'wall_s': wall, 'empty_poll_cpu_s': empty_cpu, 'cpu_s': run_cpu,
        'decider_calls': metered.snapshot(), 'activity_calls': counts,
        'moto_cpu_s': None if moto_cpu0 is None or moto_cpu1 is None else moto_cpu1 - moto_cpu0,
        'decider_stats': {driver: dict(decider.stats) for driver, decider in deciders.items()},
        'held': sum(decider.held_answers for decider in deciders.values()),
    }


def decide_until_closed(metered, client, deciders, pick, wall0):
    """The decider's loop (what ``run_forever`` does), measured task by task.

    Per decision task: ``total_s`` is all the CPU from the poll that brought the task
    to the end of ``handle`` (the response sent) plus freeing the task's response;
    ``own_s`` is that less the CPU inside boto3 calls and less the freeing.  (A held
    answer is sent by the decider's own thread, whose CPU falls in whatever task is
    measured then: for runs with held answers, use the whole run's figures.)  Returns
    the records and the CPU of this thread in polls that brought no task.
    """
    clock = time.process_time
    records = []
    empty_cpu = 0.0
    last_started = 0
    deadline = wall0 + Limits.run_timeout
    while metered.closing is None:
        driver = pick(last_started)
        decider = deciders[driver]
        events0 = decider.stats['events']
        cached0 = decider.stats['cached']
        boto0 = metered.cpu
        if Profile.profiler is not None:
            Profile.profiler.enable()
        cpu0 = clock()
        thread0 = time.thread_time()
        task = decider.poll(client, DOMAIN, DECISIONS, 'bench-decider')
        if task is None:
            if Profile.profiler is not None:
                Profile.profiler.disable()
            empty_cpu += time.thread_time() - thread0
            if time.perf_counter() > deadline:
                raise SystemExit('a run took longer than %.0f s (--run-timeout)'
                                 % Limits.run_timeout)
            continue
        boto_poll = metered.cpu - boto0
        decider.handle(client, task)
        cpu2 = clock()
        last_started = task.response.get('startedEventId') or 0
        # Freeing the parsed response (up to a page of events, each a dict of dicts and
        # datetimes) costs in proportion to the page, as parsing it does: measured apart
        # and counted with boto3.  run_forever frees it when its next poll returns.
        del task
        cpu3 = clock()
        if Profile.profiler is not None:
            Profile.profiler.disable()
        boto = metered.cpu - boto0
        records.append({
            'started': last_started, 'driver': driver,
            'hit': decider.stats['cached'] > cached0,
            'events_read': decider.stats['events'] - events0,
            'total_s': cpu3 - cpu0, 'own_s': cpu2 - cpu0 - boto,
            'poll_boto_s': boto_poll, 'handle_boto_s': boto - boto_poll,
            'free_s': cpu3 - cpu2,
        })
    return records, empty_cpu


# -- the workloads ---------------------------------------------------------------------

def median(values):
    values = list(values)
    return statistics.median(values) if values else float('nan')


def us(seconds):
    return '%.0f us' % (seconds * 1e6) if seconds < 0.01 else '%.1f ms' % (seconds * 1e3)


def secs(seconds):
    return '%.0f ms' % (seconds * 1e3) if seconds < 1 else '%.2f s' % seconds


def events(count):
    return format(int(count), ',')


def window_of(started, lengths):
    """The history length of ``lengths`` whose window holds this decision, or None.

    A window is WINDOW consecutive chain decisions centred on the length.
    """
    half = WINDOW * EVENTS_PER_STEP // 2
    for length in lengths:
        if length - half <= started < length + half:
            return length
    return None


CHAIN_FIGURES = ('own_s', 'total_s', 'poll_boto_s', 'handle_boto_s', 'free_s', 'events_read')


def bench_chain(service, sizes, repeat, page_sizes, say, report):
    """CPU per decision at about 100 and 5,000 events.

    Per round: one run per page size decided wholly by the cached driver, and one in
    which a replay decider takes the decisions of the windows (the cached decider the
    rest: after each window its first decision misses the cache and rebuilds the body,
    outside the windows).
    """
    lengths = sizes.lengths
    samples = {}
    walls = {}

    def replay_in_windows(last_started):
        upcoming = last_started + EVENTS_PER_STEP if last_started else 3
        return 'replay' if window_of(upcoming, lengths) else 'cached'

    sides = [('cached', page, None) for page in page_sizes]
    sides.append(('replay', None, replay_in_windows))
    for _ in range(repeat):
        for driver, page, pick in sides:
            run = run_workflow(service, 'Chain', sizes.chain_steps, page, pick)
            side = driver if driver == 'replay' else 'cached_%d' % page
            walls.setdefault(side, []).append(run['wall_s'])
            for length in lengths:
                window = [r for r in run['records'] if window_of(r['started'], lengths) == length]
                assert len(window) == WINDOW, [r['started'] for r in window]
                assert all(r['driver'] == driver for r in window), window
                assert driver == 'replay' or all(r['hit'] for r in window), 'a cache miss'
                for figure in CHAIN_FIGURES:
                    samples.setdefault((side, length, figure), []).append(
                        median(r[figure] for r in window))
            say('.')
    results = {}
    for (side, length, figure), values in samples.items():
        entry = results.setdefault('chain_%s' % side, {
            'steps': sizes.chain_steps, 'window_decisions': WINDOW, 'rounds': repeat,
            'page_size': 1000 if side == 'replay' else int(side.split('_')[1]),
            'wall_s': median(walls[side])})
        entry['%s_at_%d' % (figure, length)] = median(values)
        entry['%s_at_%d_rounds' % (figure, length)] = values
    for entry in results.values():
        for figure in ('own_s', 'total_s'):
            entry['%s_growth' % figure] = (entry['%s_at_%d' % (figure, lengths[1])]
                                           / entry['%s_at_%d' % (figure, lengths[0])])
    report_chain(results, sizes, page_sizes, report)
    return results


def report_chain(results, sizes, page_sizes, report):
    lo, hi = sizes.lengths
    replay = results['chain_replay']
    for page in page_sizes:
        cached = results['chain_cached_%d' % page]
        with_replay = page == PAGE_SIZES[0]
        for figure, what in (('own_s', "flowy's own"), ('total_s', 'incl. boto3')):
            for length in sizes.lengths:
                value = cached['%s_at_%d' % (figure, length)]
                other = replay['%s_at_%d' % (figure, length)]
                report.row('Chain, ~%s events, CPU per decision, %s, page %s'
                           % (events(length), what, page), us(value),
                           us(other) if with_replay else '-',
                           '%.2f' % (value / other) if with_replay else '-',
                           us(SIMPLEFLOW_US_PER_EVENT * 1e-6 * length)
                           if figure == 'own_s' else '-')
            growth = cached['%s_growth' % figure]
            report.row('Chain, growth ~%s -> ~%s events, %s, page %s'
                       % (events(lo), events(hi), what, page), '%.2fx' % growth,
                       '%.1fx' % replay['%s_growth' % figure] if with_replay else '-', '-',
                       '%.0fx' % (hi / lo) if figure == 'own_s' else '-',
                       **target(page, FLAT_MAX, 'x', growth, figure, sizes))
        report.say('page %s, cached: own %s -> %s (%.2fx), incl. boto3 %s -> %s (%.2fx); '
                   'events read per decision %d -> %d; boto3 in the poll %s -> %s, '
                   'in the response %s -> %s, freeing the response %s -> %s; wall %s'
                   % (page, us(cached['own_s_at_%d' % lo]), us(cached['own_s_at_%d' % hi]),
                      cached['own_s_growth'], us(cached['total_s_at_%d' % lo]),
                      us(cached['total_s_at_%d' % hi]), cached['total_s_growth'],
                      cached['events_read_at_%d' % lo], cached['events_read_at_%d' % hi],
                      us(cached['poll_boto_s_at_%d' % lo]), us(cached['poll_boto_s_at_%d' % hi]),
                      us(cached['handle_boto_s_at_%d' % lo]),
                      us(cached['handle_boto_s_at_%d' % hi]),
                      us(cached['free_s_at_%d' % lo]), us(cached['free_s_at_%d' % hi]),
                      secs(cached['wall_s'])))
    report.say('replay (page 1000): own %s -> %s (%.1fx), incl. boto3 %s -> %s (%.1fx); '
               'events read per decision %d -> %d; simpleflow (34 us/event) %s -> %s'
               % (us(replay['own_s_at_%d' % lo]), us(replay['own_s_at_%d' % hi]),
                  replay['own_s_growth'], us(replay['total_s_at_%d' % lo]),
                  us(replay['total_s_at_%d' % hi]), replay['total_s_growth'],
                  replay['events_read_at_%d' % lo], replay['events_read_at_%d' % hi],
                  us(SIMPLEFLOW_US_PER_EVENT * 1e-6 * lo),
                  us(SIMPLEFLOW_US_PER_EVENT * 1e-6 * hi)))
    for page in page_sizes:
        cached = results['chain_cached_%d' % page]
        for figure, what in (('own_s', "flowy's own"), ('total_s', 'incl. boto3')):
            report.say('target: cached CPU per decision flat, %s, page %s: %.2fx %s'
                       % (what, page, cached['%s_growth' % figure],
                          judged(cached['%s_growth' % figure], FLAT_MAX, 'x', sizes.quick,
                                 page)))


def bench_sumsquares(service, sizes, repeat, page_sizes, say, report):
    """SumSquares(N) for each page size (cached) and once with the replay driver."""
    n = sizes.sum_n
    sides = [('cached_%d' % page, page, repeat) for page in page_sizes]
    sides.append(('replay', None, 1))
    runs = {side: [] for side, _, _ in sides}
    for round_ in range(repeat):
        for side, page, count in sides:
            if round_ < count:
                driver = 'replay' if side == 'replay' else 'cached'
                run = run_workflow(service, 'SumSquares', n, page, lambda _, d=driver: d)
                runs[side].append(summarize_sum(run, n))
                say('.')
    results = {}
    for side, summaries in runs.items():
        entry = {key: median(s[key] for s in summaries) for key in summaries[0]
                 if isinstance(summaries[0][key], (int, float))}
        entry['page_size'] = 1000 if side == 'replay' else int(side.split('_')[1])
        entry['rounds'] = summaries
        results['sumsquares_%s' % side] = entry
    report_sumsquares(results, sizes, page_sizes, report)
    return results


def summarize_sum(run, n):
    records = run['records']
    decider = run['decider_calls']
    worker = run['activity_calls']
    done = worker['calls'].get('respond_activity_task_completed', 0)
    assert done == 2 * n - 1, worker
    decider_calls = sum(decider['calls'].values())
    decider_empty = sum(decider['empty'].values())
    worker_calls = sum(worker['calls'].values())
    worker_empty = sum(worker['empty'].values())
    # the whole run's CPU: held answers go from the decider's thread, between tasks
    boto3_s = decider['cpu_s'] - decider['empty_cpu_s']
    free_s = sum(r['free_s'] for r in records)
    return {
        'decision_tasks': len(records),
        'held_answers': run['held'],
        'activities': done,
        'own_s': run['cpu_s'] - boto3_s - free_s,
        'total_s': run['cpu_s'],
        'total_over_own': run['cpu_s'] / (run['cpu_s'] - boto3_s - free_s),
        'boto3_s': boto3_s,
        'free_s': free_s,
        'empty_poll_cpu_s': run['empty_poll_cpu_s'],
        'events_read': sum(r['events_read'] for r in records),
        'history_events': max(r['started'] for r in records),
        # what simpleflow's decider would spend re-reading each of these histories
        'simpleflow_s': SIMPLEFLOW_US_PER_EVENT * 1e-6 * sum(r['started'] for r in records),
        'wall_s': run['wall_s'],
        'calls_per_activity': (decider_calls - decider_empty + worker_calls - worker_empty)
        / done,
        'decider_calls_per_activity': (decider_calls - decider_empty) / done,
        'worker_calls_per_activity': (worker_calls - worker_empty) / done,
        'empty_polls_per_activity': (decider_empty + worker_empty) / done,
        'decider_empty_polls': decider_empty,
        'worker_empty_polls': worker_empty,
        'moto_cpu_s': run['moto_cpu_s'] if run['moto_cpu_s'] is not None else float('nan'),
        'worker_cpu_s': worker.get('process_cpu_s', float('nan')),
        'decider_calls': decider['calls'],
        'boto3_by_call': dict(decider['cpu_by_call'], **{
            'poll_for_decision_task': decider['cpu_by_call'].get('poll_for_decision_task', 0)
            - decider['empty_cpu_s']}),
        'worker_calls': worker['calls'],
    }


def report_sumsquares(results, sizes, page_sizes, report):
    label = 'SumSquares(%s)' % events(sizes.sum_n)
    replay = results['sumsquares_replay']
    for page in page_sizes:
        cached = results['sumsquares_cached_%d' % page]
        paired = page == PAGE_SIZES[0]

        def other(key, text, entry=replay, paired=paired):
            return text(entry[key]) if paired else '-'

        def ratio(key, cached=cached, paired=paired):
            return '%.2f' % (cached[key] / replay[key]) if paired else '-'

        report.row("%s, decider CPU in all, flowy's own, page %s" % (label, page),
                   secs(cached['own_s']), other('own_s', secs), ratio('own_s'),
                   secs(cached['simpleflow_s']),
                   **target(page, SUM_CPU_MAX, ' s', cached['own_s'], 'own_s', sizes))
        report.row('%s, decider CPU in all, incl. boto3, page %s' % (label, page),
                   secs(cached['total_s']), other('total_s', secs), ratio('total_s'), '-')
        report.row("%s, decider CPU incl. boto3 / flowy's own, page %s" % (label, page),
                   '%.2fx' % cached['total_over_own'],
                   other('total_over_own', '%.2fx'.__mod__), '-', '-',
                   **target(page, SUM_RATIO_MAX, 'x', cached['total_over_own'], 'total_s',
                            sizes))
        report.row('%s, decision tasks, page %s' % (label, page),
                   '%d' % cached['decision_tasks'], other('decision_tasks', '%d'.__mod__),
                   ratio('decision_tasks'), '-')
        report.row('%s, CPU per decision task, flowy\'s own, page %s' % (label, page),
                   us(cached['own_s'] / cached['decision_tasks']),
                   us(replay['own_s'] / replay['decision_tasks']) if paired else '-', '-', '-')
        report.row('%s, SWF calls per activity (+ empty polls), page %s' % (label, page),
                   '%.2f + %.2f' % (cached['calls_per_activity'],
                                    cached['empty_polls_per_activity']),
                   '%.2f + %.2f' % (replay['calls_per_activity'],
                                    replay['empty_polls_per_activity']) if paired else '-',
                   '-', '-',
                   **target(page, CALLS_MAX, '', cached['calls_per_activity'], 'calls', sizes))
        report.row('%s, wall time, page %s' % (label, page), secs(cached['wall_s']),
                   other('wall_s', secs), ratio('wall_s'), '-')
    sides = [('cached, page %s' % page, results['sumsquares_cached_%d' % page])
             for page in page_sizes] + [('replay, page 1000', replay)]
    for name, entry in sides:
        report.say('%s: %d decision tasks (%d answers held) for %d activities (history %s '
                   'events, %s events read); decider CPU %s own + %s boto3 + %s freeing '
                   'responses = %s (%s per task; empty polls %s more); SWF calls per '
                   'activity %.2f = decider %.2f + worker %.2f, plus %.2f empty polls '
                   '(decider %d, worker %d); wall %s; moto %s CPU, activity worker %s CPU'
                   % (name, entry['decision_tasks'], entry['held_answers'], entry['activities'],
                      events(entry['history_events']), events(entry['events_read']),
                      secs(entry['own_s']), secs(entry['boto3_s']), secs(entry['free_s']),
                      secs(entry['total_s']), us(entry['total_s'] / entry['decision_tasks']),
                      secs(entry['empty_poll_cpu_s']), entry['calls_per_activity'],
                      entry['decider_calls_per_activity'], entry['worker_calls_per_activity'],
                      entry['empty_polls_per_activity'], entry['decider_empty_polls'],
                      entry['worker_empty_polls'], secs(entry['wall_s']),
                      secs(entry['moto_cpu_s']), secs(entry['worker_cpu_s'])))
    for name, entry in sides:
        last = entry['rounds'][-1]
        report.say('%s: boto3 CPU by call (calls, empty polls apart), last round: %s' % (
            name, ', '.join('%s %s (%d)' % (
                call, secs(cpu), last['decider_calls'].get(call, 0)
                - (last['decider_empty_polls'] if call.startswith('poll') else 0))
                for call, cpu in sorted(last['boto3_by_call'].items()))))
    report.say('simpleflow, for comparison (34 us per event of the history, per decision): '
               '%s at the decision points of the cached run (page %s), %s at those of the '
               'replay run; it measured %.2f s for MapSum(1,000) with the fewest possible '
               'decision tasks (13)'
               % (secs(results['sumsquares_cached_%d' % page_sizes[0]]['simpleflow_s']),
                  page_sizes[0], secs(replay['simpleflow_s']), SIMPLEFLOW_MAPSUM_1000_S))
    for page in page_sizes:
        cached = results['sumsquares_cached_%d' % page]
        report.say("target: cached decider CPU in all, flowy's own, page %s: %s %s"
                   % (page, secs(cached['own_s']),
                      judged(cached['own_s'], SUM_CPU_MAX, ' s', sizes.quick, page)))
        report.say("target: cached decider CPU incl. boto3 / flowy's own, page %s: %.2fx %s"
                   % (page, cached['total_over_own'],
                      judged(cached['total_over_own'], SUM_RATIO_MAX, 'x', sizes.quick, page)))
        report.say('target: SWF calls per activity (decider and activity worker, empty polls '
                   'apart), page %s: %.2f %s'
                   % (page, cached['calls_per_activity'],
                      judged(cached['calls_per_activity'], CALLS_MAX, '', sizes.quick, page)))


# -- report -------------------------------------------------------------------------------

def target(page, limit, unit, value, kind, sizes):
    """Report.row's target arguments: the issue's targets are for the default paging."""
    if page != 0:
        return {'target': '(default page)'}
    return {'target': '<= %g%s' % (limit, unit.strip()), 'value': value, 'limit': limit,
            'kind': kind, 'quick': sizes.quick}


def judged(value, limit, unit, quick, page=0):
    if page != 0:
        return '(target <= %g%s for the default paging: not judged at page %s)' % (
            limit, unit, page)
    if quick:
        return '(target <= %g%s: not judged, --quick sizes)' % (limit, unit)
    return '(target <= %g%s: %s)' % (limit, unit, 'PASS' if value <= limit else 'FAIL')


class Report:
    """Rows of the final table, and the lines printed under each workload."""

    def __init__(self):
        self.rows = []
        self.lines = []

    def row(self, what, cached, replay, ratio, simpleflow, target='-', value=None, limit=None,
            kind=None, quick=False):
        if limit is None:
            verdict = 'info'
        elif quick:
            verdict = 'quick'
        else:
            verdict = 'PASS' if value <= limit else 'FAIL'
        self.rows.append({'what': what, 'cached': cached, 'replay': replay,
                          'cached/replay': ratio, 'simpleflow': simpleflow, 'target': target,
                          'verdict': verdict, 'figure': kind})

    def say(self, text):
        self.lines.append(text)


def print_table(rows):
    keys = ('what', 'cached', 'replay', 'cached/replay', 'simpleflow', 'target', 'verdict')
    lines = [keys] + [tuple(row[key] for key in keys) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(keys))]
    fmt = '  '.join(['%%-%ds' % widths[0]] + ['%%%ds' % w for w in widths[1:5]]
                    + ['%%-%ds' % widths[5], '%s'])
    print(fmt % keys)
    print('  '.join('-' * w for w in widths))
    for line in lines[1:]:
        print(fmt % line)


def environment(server):
    import boto3
    import botocore
    return dict(base_environment(), moto=server.first['moto'],
                moto_empty_poll_wait_s=server.first['poll_wait_s'],
                boto3=boto3.__version__, botocore=botocore.__version__)


def print_summary(rows, total):
    counts = {}
    for row in rows:
        if row['verdict'] in ('PASS', 'FAIL', 'quick'):
            key = {'own_s': "flowy's own", 'calls': 'SWF calls'}.get(row['figure'],
                                                                   'incl. boto3')
            counts.setdefault(key, Counter())[row['verdict']] += 1
    parts = ['%s: %d PASS, %d FAIL' % (key, c['PASS'], c['FAIL']) if not c['quick']
             else '%s: %d not judged (--quick)' % (key, c['quick'])
             for key, c in counts.items()]
    print('Targets, %s (%d rows for information).  All results checked correct.  Total '
          'benchmark time %.1f s.' % ('; '.join(parts),
                                      sum(row['verdict'] == 'info' for row in rows), total))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run with smaller sizes (chain to ~1,000 events, '
                             'SumSquares(200)); its figures are not judged')
    parser.add_argument('--repeat', type=int, default=1,
                        help='rounds of each workload (default 1); the replay SumSquares '
                             'runs once')
    parser.add_argument('--only', metavar='NAME', action='append',
                        choices=('chain', 'sumsquares'),
                        help='run only this workload: chain or sumsquares')
    parser.add_argument('--page-size', type=int, action='append', metavar='N',
                        help="the cached decider's page size(s) (default 1000 and 100; the "
                             'first is paired with the replay driver, which uses 1000)')
    parser.add_argument('--json', metavar='PATH', help='also write the figures to PATH')
    parser.add_argument('--batch-wait', type=float, metavar='SECONDS',
                        help="the deciders' batch_wait, the longest an answer is held "
                             "(default: the decider's own default)")
    parser.add_argument('--profile', metavar='PATH',
                        help="cProfile (CPU time) the decider's polls and tasks in this "
                             'thread; write the stats to PATH and print the top functions')
    parser.add_argument('--run-timeout', type=float, default=Limits.run_timeout,
                        help='seconds one workflow run may take (default %(default)s)')
    parser.add_argument('--serve-moto', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--serve-activities', metavar='ENDPOINT', help=argparse.SUPPRESS)
    parser.add_argument('--lifetime', type=float, default=PROCESS_LIFETIME,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.pop('AWS_PROFILE', None)
    os.environ.update(DUMMY_CREDENTIALS)
    if args.serve_moto:
        serve_moto(args.lifetime)
        return 0
    if args.serve_activities:
        serve_activities(args.serve_activities, args.lifetime)
        return 0

    if args.repeat < 1:
        parser.error('--repeat must be at least 1')
    page_sizes = tuple(PageSize(size) for size in (args.page_size or PAGE_SIZES))
    if not all(0 <= size <= 1000 for size in page_sizes) or len(set(page_sizes)) < len(
            page_sizes):
        parser.error('--page-size must be from 1 to 1000 (0: the decider\'s default), each '
                     'given once')
    sizes = Sizes(args.quick)
    Limits.run_timeout = args.run_timeout
    Batching.batch_wait = args.batch_wait
    if args.profile:
        Profile.profiler = cProfile.Profile(time.process_time)   # CPU, not wall time

    def say(text):
        sys.stdout.write(text)
        sys.stdout.flush()

    server = Child('serve-moto')
    try:
        service = Service(server)
        env = environment(server)
        print('flowy %s (%s) SWF decider, on moto %s with tests/swf/moto_ext.py at %s'
              % (env['flowy_version'], env['git_commit'] or 'no git', env['moto'],
                 service.endpoint))
        print('date %s | Python %s | %d CPUs | %s | boto3 %s'
              % (env['date'], env['python'], env['cpu_count'], env['platform'], env['boto3']))
        print('3 processes: moto server, 1 activity worker, this decider; an empty poll waits '
              '%g s (SWF: up to 60 s); %d round(s)%s'
              % (env['moto_empty_poll_wait_s'], args.repeat,
                 '; --quick: smaller sizes, not judged' if args.quick else ''))
        print('deciders: batch_wait %g s (the longest an answer is held back)%s'
              % (SWFWorkflowWorker().batch_wait if args.batch_wait is None else args.batch_wait,
                 '' if args.batch_wait is None else ' (--batch-wait)'))
        print()
        report = Report()
        results = {}
        started = time.perf_counter()
        workloads = [('chain', 'Chain(%d)' % sizes.chain_steps, bench_chain),
                     ('sumsquares', 'SumSquares(%d)' % sizes.sum_n, bench_sumsquares)]
        for name, label, bench in workloads:
            if args.only and name not in args.only:
                continue
            say('%-20s ' % label)
            t0 = time.perf_counter()
            report.lines = []
            results.update(bench(service, sizes, args.repeat, page_sizes, say, report))
            say(' %.1f s\n' % (time.perf_counter() - t0))
            for line in report.lines:
                print('  ' + line)
        total = time.perf_counter() - started
    finally:
        server.stop()

    print()
    print("CPU of this process (time.process_time) per decision task.  flowy's own: the poll "
          'and handle(), less the CPU')
    print('inside boto3 calls.  incl. boto3: everything, with the boto3 calls (request, '
          'signing, parsing) and freeing')
    print('the parsed response.  simpleflow: 34 us per event of the history, per decision '
          '(its decider re-reads it all).')
    print()
    print_table(report.rows)
    print()
    print_summary(report.rows, total)
    if Profile.profiler is not None:
        Profile.profiler.dump_stats(args.profile)
        out = io.StringIO()
        stats = pstats.Stats(Profile.profiler, stream=out).sort_stats('tottime')
        stats.print_stats(20)
        stats.print_stats(r'flowy[/\\]', 30)    # flowy's own functions
        print(out.getvalue())
        print('Profile written to %s' % args.profile)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as stream:
            json.dump({'environment': env, 'repeat': args.repeat, 'quick': args.quick,
                       'only': args.only, 'page_sizes': page_sizes, 'total_s': total,
                       'results': results, 'table': report.rows}, stream, indent=2,
                      default=str)
            stream.write('\n')
        print('Figures written to %s' % args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
