"""simpleflow's documented examples, written for flowy.

Each section between ``# [name]`` and ``# [/name]`` is shown in docs/coming_from.rst;
tests/migration/test_translations.py runs every one on the local engine.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import flowy
from flowy import (
    LocalWorkflow,
    SWFActivityConfig,
    SWFWorkflowConfig,
    TaskError,
    context,
    first,
    marker,
    restart,
    sleep,
    wait,
    wait_signal,
)


# [basic]
def increment(x):
    return x + 1


def double(x):
    return x * 2


def delay(t, x):
    time.sleep(t)
    return x


class BasicWorkflow:
    def __init__(self, increment, double, delay):
        self.increment = increment
        self.double = double
        self.delay = delay

    def __call__(self, x, t=30):
        y = self.increment(x)
        yy = self.delay(t, y)      # starts as soon as y is known, like z
        z = self.double(y)
        marker('computed', '(%s + 1) * 2 = %s' % (x, wait(z)))
        wait(yy)                   # futures.wait(yy, z)
        return z


def run_basic(x, t):
    with LocalWorkflow(BasicWorkflow, executor=ThreadPoolExecutor) as w:
        w.conf_activity('increment', increment)
        w.conf_activity('double', double)
        w.conf_activity('delay', delay)
        return w.run(x, t)
# [/basic]


# [basic-swf]
quickstart = SWFActivityConfig(default_task_list='quickstart',
                               default_schedule_to_start=300,
                               default_start_to_close=300,
                               default_schedule_to_close=600,
                               default_heartbeat='NONE')
quickstart(version='example')(increment)
quickstart(version='example')(double)
quickstart(version='example')(delay)

examples = SWFWorkflowConfig(default_task_list='example',
                             default_workflow_duration=3600,
                             default_decision_duration=300)
for name in ('increment', 'double', 'delay'):
    examples.conf_activity(name, version='example')
examples(version='example', name='basic')(BasicWorkflow)
# [/basic-swf]


# [canvas]
def task_a():
    return 'Something'


def task_b(x):
    return 'Something Else', x


class ChainAndGroup:
    def __init__(self, task_a, task_b):
        self.task_a = task_a
        self.task_b = task_b

    def __call__(self):
        # Chain(task_a, (task_b, 42)): one after the other.
        a = wait(self.task_a())
        chain = [a, self.task_b(42)]
        # Chain(task_a, task_b, send_result=True): pass the result on.
        sent = self.task_b(self.task_a())
        # Group(task_a, (task_b, 42)): both at once.
        group = [self.task_a(), self.task_b(42)]
        return chain, sent, group


def run_canvas():
    with LocalWorkflow(ChainAndGroup, executor=ThreadPoolExecutor) as w:
        w.conf_activity('task_a', task_a)
        w.conf_activity('task_b', task_b)
        return w.run()
# [/canvas]


# [funcgroup]
def partition_data(data_location, parts=3):
    return ['%s/part-%d' % (data_location, i) for i in range(parts)]


def execute_on_sub_part(sub_part):
    return sub_part.upper()


class PartitionThenFanOut:
    """FuncGroup: decide what to run in parallel once an earlier result is known."""

    def __init__(self, partition_data, execute_on_sub_part):
        self.partition_data = partition_data
        self.execute_on_sub_part = execute_on_sub_part

    def __call__(self, data_location, batch=None):
        parts = self.partition_data(data_location)
        if batch is None:          # Group(...): every part at once
            return [self.execute_on_sub_part(p) for p in parts]
        done = []                  # Group(..., max_parallel=batch): in waves
        for start in range(0, len(parts), batch):
            wave = [self.execute_on_sub_part(p) for p in parts[start:start + batch]]
            done.extend(wait(r) for r in wave)
        return done


def run_funcgroup(data_location, batch=None):
    with LocalWorkflow(PartitionThenFanOut, executor=ThreadPoolExecutor) as w:
        w.conf_activity('partition_data', partition_data)
        w.conf_activity('execute_on_sub_part', execute_on_sub_part)
        return w.run(data_location, batch=batch)
# [/funcgroup]


# [errors]
CALLS = {}
CALLS_LOCK = threading.Lock()


def flaky(name, failures):
    """Fail ``failures`` times for this name, then succeed."""
    with CALLS_LOCK:
        CALLS[name] = CALLS.get(name, 0) + 1
        calls = CALLS[name]
    if calls <= failures:
        raise ConnectionError('%s: attempt %d failed' % (name, calls))
    return '%s ok after %d attempts' % (name, calls)


class Tolerant:
    def __init__(self, retried, quiet):
        self.retried = retried
        self.quiet = quiet

    def __call__(self, prefix):
        # retry=2 (and retry_later with a wait): see conf_activity below.
        retried = self.retried(prefix + 'retried', 2)
        # raises_on_failure=False: catch the error where the value is used.
        try:
            quiet = wait(self.quiet(prefix + 'quiet', 5))
        except TaskError as error:
            quiet = 'ignored: %s' % error.reason   # on_task_failure -> "ignore"
        return retried, quiet


def run_errors(prefix, retry_wait=0.01):
    with LocalWorkflow(Tolerant, executor=ThreadPoolExecutor) as w:
        w.conf_activity('retried', flaky, retry=(0, retry_wait, retry_wait),
                        retry_failures=True)
        w.conf_activity('quiet', flaky)
        return w.run(prefix)
# [/errors]


# [signals]
class WaitForGo:
    def __init__(self, work):
        self.work = work

    def __call__(self, grace):
        first_go = wait_signal('go')       # submit(wait_signal('go')).result
        # "if my_signal.finished": race it against a timer instead.
        early = wait(first(wait_signal('early'), sleep(grace)))
        return self.work(first_go), early


def run_signals(grace):
    with LocalWorkflow(WaitForGo, executor=ThreadPoolExecutor) as w:
        w.conf_activity('work', increment)
        handle = w.start(grace)
        handle.signal('go', 41)
        return handle.result(timeout=10)
# [/signals]


# [continue-as-new]
class CountToTen:
    """Continue as new until i reaches 10; each run has a new run id."""

    def __call__(self, i=0, run_ids=()):
        run_ids = run_ids + (context().run_id,)
        if i >= 10:
            return i, len(set(run_ids))
        return restart(i=i + 1, run_ids=run_ids)


def run_count_to_ten():
    with LocalWorkflow(CountToTen, executor=ThreadPoolExecutor) as w:
        return w.run()
# [/continue-as-new]


# [timers-markers]
class Reminder:
    """A timer, a marker and a child workflow."""

    def __init__(self, child):
        self.child = child

    def __call__(self, seconds):
        started = flowy.now()
        wait(sleep(seconds))                   # submit(self.start_timer(...))
        marker('slept', {'seconds': seconds})  # submit(self.record_marker(...))
        return self.child(5, t=0), flowy.now() >= started


def run_reminder(seconds):
    child = LocalWorkflow(BasicWorkflow)
    child.conf_activity('increment', increment)
    child.conf_activity('double', double)
    child.conf_activity('delay', delay)
    with LocalWorkflow(Reminder, executor=ThreadPoolExecutor) as w:
        w.conf_workflow('child', child)        # submit(ChildWorkflow, 5)
        return w.run(seconds)
# [/timers-markers]


# [steps]
DONE = []
BROKEN = {'next step': True}


def do_something():
    DONE.append('something')
    return 'this is something'


def next_step():
    if BROKEN['next step']:
        raise RuntimeError('the next step failed')
    return 'next step done'


class WithSteps:
    def __init__(self, do_something, next_step):
        self.do_something = do_something
        self.next_step = next_step

    def __call__(self):
        something = wait(self.do_something())
        return something, self.next_step()


def run_steps(store):
    """Fail once, fix the cause, repair: the completed step is not done again."""
    with LocalWorkflow(WithSteps, executor=ThreadPoolExecutor, store=store) as w:
        w.conf_activity('do_something', do_something)
        w.conf_activity('next_step', next_step)
        try:
            w.run(_id='nightly')
        except TaskError as error:
            failure = error.reason
        BROKEN['next step'] = False            # the cause is fixed
        return failure, w.repair('nightly')
# [/steps]
