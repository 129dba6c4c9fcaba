"""The SWF decider: poll decision tasks, run the workflow body, answer with SWF decisions.

:class:`SWFWorkflowWorker` polls one task list of one domain.  For each decision task
it reads the execution's history (every page, through ``nextPageToken``), lets a driver
decide (:mod:`flowy.drivers.cached` by default, or the stateless replay of
:mod:`flowy.drivers.replay`), turns the decision into SWF decisions
(:func:`flowy.swf.packer.to_swf`) and answers with
``RespondDecisionTaskCompleted``.

**The cached driver.**  Each execution the decider answered keeps its
:class:`~flowy.swf.history.ExecutionHistory` (and with it a live workflow body in the
driver), its :class:`~flowy.swf.packer.Packer` and the ``startedEventId`` of the task it
answered.  When the next task of that
execution says ``previousStartedEventId`` is that id, nothing happened that this decider
did not see, so only the new events are read (the poll asks for the newest events first
and stops paging as soon as it reaches known ones) and fed to the same history: the body
goes on from where it waits, without replaying.  Any other task (another decider
answered in between, this process restarted, a response got lost, the entry was
evicted) reads the whole history into a fresh ExecutionHistory (with a fresh packer)
and the driver rebuilds the body by replay.  At most ``cache_size`` executions are kept
(least recently used out first); an execution is forgotten as soon as its decision
closes it, when a response fails (SWF may or may not have applied it), and on any
error.

**Failures.**  A decision task must never be left to fail forever:

* a workflow type this decider does not run is logged as an error and **not answered**:
  another decider polling the same task list may run it, and SWF delivers the task again
  after its start-to-close timeout (``taskStartToCloseTimeout``);
* a history page that cannot be fetched after :attr:`~SWFWorkflowWorker.page_attempts`
  tries (or pages that miss events) is logged and not answered (SWF delivers the task
  again after its timeout); so is a payload store that cannot be reached.  The pause
  between tries ends early when :meth:`~SWFWorkflowWorker.stop` is called;
* a decision that cannot be computed (a history flowy cannot read: an event malformed,
  repeated or out of order; a non-deterministic body, more decisions than a response
  holds, a payload that is gone, any unexpected error) fails the execution with
  ``FailWorkflowExecution``: the reason (256 characters) says what went wrong, the
  details (32,768) how to fix it;
* a response refused with ``UnknownResourceFault`` (the task timed out, or was answered
  already) is logged at INFO: SWF has scheduled another task for the execution.  A
  decision that took longer than the task's start-to-close timeout is logged as a
  WARNING, with the time it took and how to give decisions more time;
* a close decision refused because events arrived meanwhile (``UNHANDLED_DECISION``)
  needs nothing special: the next task decides again from the history, which then
  holds the new events.

A cancellation request (``WorkflowExecutionCancelRequested``) is answered by cancelling
every activity, timer and child workflow of the run still running, and
``CancelWorkflowExecution`` (:func:`flowy.swf.effects.cancel_run`); the body is not run
again.  Before each decision the history's ``now`` is the time of the decision task
(its ``DecisionTaskStarted`` event: ``flowy.now()``) and its ``ids`` the run's
``(workflowId, runId)`` (``flowy.context()``); timers, markers, signals and
cancellations of the body are :mod:`flowy.swf.effects`.

:attr:`SWFWorkflowWorker.stats` counts, for benchmarks and monitoring:

* ``decision_tasks``: tasks polled; ``cached``: answered from the cached history without
  a replay; ``replays``: answered after reading the whole history into a fresh one
  (the driver rebuilt the body by replay; see also ``rebuilds``);
* ``events``: history events fetched (every page); ``pages``: pages fetched after the
  first; ``polls``: PollForDecisionTask calls that were not for a page (empty ones
  too); ``api_calls``: every SWF call made (polls, pages, responses);
* ``responses`` and ``decisions``: responses sent and the SWF decisions in them;
  ``failed``: executions failed because no decision could be computed;
  ``unanswered``: tasks left to time out (paging or store errors, failed responses,
  unknown types); ``unknown_type``: tasks of a type this decider does not run;
* ``cpu_time``: seconds of ``time.process_time`` spent reading histories and deciding
  (not waiting for polls or responses; it includes the driver's body threads, and, in
  a test, any other thread of the process).
"""

import copy
import logging
import threading
import time
import traceback
from collections import OrderedDict, deque

from ..decision import Fail
from ..drivers.cached import CachedDriver
from ..drivers.replay import replay
from ..errors import FlowyError, NondeterminismError, exception_line
from .client import error_code
from .config import WORKFLOW_CATEGORY, SWFWorkflowConfig
from .decisions import CLOSING, TooManyDecisions, fail_workflow
from .effects import cancel_run
from .events import HistoryError, MissingEvents, event_id
from .history import read_history
from .holding import Holding
from .observing import report_decision
from .packer import Packer, to_swf
from .pages import (
    FIRST_PAGE_MIN,
    RECENT_TASKS,
    DecisionTask,
    Pages,
    Paging,
    PagingError,
    Stopping,
)
from .payload import PayloadError, PayloadMissing, PayloadTooLarge
from .types import TaskType
from .worker import Worker

__all__ = ['SWFWorkflowWorker', 'DecisionTask']

log = logging.getLogger('flowy.swf.decider')

#: The details of CancelWorkflowExecution when a run is cancelled on request.
CANCEL_DETAILS = 'the workflow execution was cancelled on request'

#: How long an answer may be held by default (``batch_wait``), in seconds.
BATCH_WAIT = 1.0

STATS = ('decision_tasks', 'cached', 'replays', 'events', 'pages', 'api_calls', 'polls',
         'responses', 'decisions', 'failed', 'unanswered', 'unknown_type', 'cpu_time')


_HISTORY_HINT = (
    'The events of this execution do not form a history flowy understands (an event lacks '
    'an attribute or has one of the wrong type, refers to one the history does not hold, or '
    'an outcome is recorded twice). Was it started by other code, or edited? Start the '
    'workflow again; if this happens to runs flowy started, report it with this history.')
_DECISION_TIMEOUT_HINT = (
    'SWF gives the task to a decider again after each timeout, so a decision that always '
    'takes this long never gets through. Give the workflow more time per decision: '
    'default_decision_duration of its SWFWorkflowConfig (registered defaults never change: '
    'give the type a new version), or the decision duration when starting it '
    '(SWFWorkflowStarter task_duration, flowy start --task-duration).')
_PAYLOAD_HINT = ('Values too large for SWF travel through the payload store: check that every '
                 'process of the domain uses the same store, and that stored objects outlive '
                 'the executions (the lifecycle rule of the bucket).')


class _CannotDecide(FlowyError):
    """The decision cannot be computed: fail the execution with this reason and details."""

    def __init__(self, reason, details=None):
        super().__init__(reason)
        self.reason = reason
        self.details = details


class _Run:
    """What the decider keeps of an execution: its history, its packer, the last task
    answered (its ``startedEventId``; 0 before the first answer)."""

    __slots__ = ('execution', 'packer', 'answered')

    def __init__(self, execution, answered=0):
        self.execution = execution
        self.packer = Packer(execution)
        self.answered = answered


class SWFWorkflowWorker(Paging, Worker):
    """A decider: runs the workflows registered with it (``scan()`` or ``register()``).

    ``driver``: ``'cached'`` (default: keep workflow bodies alive between decisions;
    a decision costs what its new events cost) or ``'replay'`` (replay every body from
    the top on every decision; stateless), or a driver callable (``driver(config,
    input_data, history, limit=None)``; one with ``forget(history)`` is treated as
    caching).  ``cache_size``: how many executions the cached driver keeps alive.
    ``payload_store``: the :class:`flowy.swf.payload.PayloadStore` that holds values too
    large for SWF's fields (every process of a domain must use the same one).
    ``task_list_override``: schedule every activity and child workflow on this task
    list instead of the configured ones (a development mode that runs a decider and an
    activity worker in one process on a private task list).  ``page_size``: the
    ``maximumPageSize`` of history pages.  By default a caching decider asks for a small
    first page, newest events first, sized to what its recent decision tasks brought
    (boto3's cost grows with every event it parses); a run it must read whole (not
    cached) is read forward in pages of 1,000 with GetWorkflowExecutionHistory.  The
    replay driver reads every history whole, in pages of 1,000.  ``batch_wait``: the
    longest an answer is held back (seconds, default 1; 0: never) while activities the
    run scheduled earlier still wait on their task list.  Its workers are busy then, so
    the answer costs the run nothing by waiting, and the outcomes arriving meanwhile go
    into one decision task: a wide fan-out of short activities takes far fewer decision
    tasks, SWF calls and CPU.  A chain is never held, nor an answer that closes the run,
    starts a timer or cancels (:mod:`flowy.swf.holding` says how long and when).  Held
    answers are sent from a thread of their own while the decider goes on polling; when
    it stops, they are sent at once.

    Run it with :meth:`run_forever`; :meth:`stop` ends it from any thread.
    """

    category = WORKFLOW_CATEGORY
    config_class = SWFWorkflowConfig
    kind = 'workflow'
    # The decider reads many history events and none of their times.  Its requests are
    # flowy's decisions, which tests check against SWF's model: botocore's check of each
    # (about 20 us a decision) is left to SWF.
    client_options = {'parse_timestamps': False, 'json_histories': True, 'validate': False}
    page_attempts = 3  # tries per history page before the task is left to time out
    page_retry_pause = 0.5  # seconds before the second try; doubled for the next
    clock = staticmethod(time.monotonic)  # times decisions against their timeout

    def __init__(self, driver='cached', cache_size=256, payload_store=None,
                 task_list_override=None, page_size=None, batch_wait=BATCH_WAIT):
        super().__init__()
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError('cache_size must be an integer greater than 0; got %r'
                             % (cache_size,))
        if driver == 'cached':
            driver = CachedDriver(cache_size)
        elif driver == 'replay':
            driver = replay
        elif not callable(driver):
            raise ValueError("driver must be 'cached', 'replay' or a driver callable; got %r"
                             % (driver,))
        self.driver = driver
        self.caching = callable(getattr(driver, 'forget', None))
        self.cache_size = cache_size
        self.payload_store = payload_store
        if task_list_override is not None:
            # TaskType checks the name the way SWF will
            task_list_override = TaskType('activity', 'override', '1',
                                          task_list=task_list_override).task_list
        self.task_list_override = task_list_override
        if page_size is not None and (type(page_size) is not int or not 1 <= page_size <= 1000):
            raise ValueError('page_size must be a whole number from 1 to 1000; got %r'
                             % (page_size,))
        self.page_size = page_size
        if isinstance(batch_wait, bool) or not isinstance(batch_wait, (int, float)) or not (
                0 <= batch_wait <= 60):
            raise ValueError('batch_wait must be a number of seconds from 0 to 60; got %r'
                             % (batch_wait,))
        self._holding = Holding(batch_wait, lambda: self.clock(), keep=max(cache_size, 256))
        # a held answer is sent from another thread: one of them handles a task at a time
        self._answering = threading.RLock()
        self._news = FIRST_PAGE_MIN / 2.0  # events a kept run's task brings, on average
        self._first_page = FIRST_PAGE_MIN
        self._recent_news = deque(maxlen=RECENT_TASKS)  # events the last kept tasks brought
        self._runs = OrderedDict()  # (workflowId, runId) -> _Run, least recently used first
        # (workflowId, runId) -> (startedEventId answered, outcomes reported as events)
        self._reported = OrderedDict()
        self._task_types = {}  # id(workflow) -> (workflow, its task types on the override)
        self.stats = dict.fromkeys(STATS, 0)
        self.stats['cpu_time'] = 0.0

    @property
    def rebuilds(self):
        """How many times a body was built by a full replay (``driver.rebuilds``)."""
        return getattr(self.driver, 'rebuilds', self.stats['replays'])

    @property
    def cached_runs(self):
        """How many executions the decider keeps (with the cached driver)."""
        return len(self._runs)

    @property
    def batch_wait(self):
        """The longest an answer is held back, in seconds (0: never)."""
        return self._holding.longest

    @property
    def held_answers(self):
        """How many answers were held back so far."""
        return self._holding.held

    def _loop(self, *args):
        try:
            super()._loop(*args)
        finally:
            self.flush()
            self.close()  # the live bodies of a stopped decider are of no use

    def flush(self):
        """Send the answers held back now (:meth:`run_forever` does it when stopping);
        return how many were sent."""
        return self._holding.flush()

    def close(self):
        """Drop every cached execution (and its live body)."""
        runs = list(self._runs.values())
        self._runs.clear()
        for run in runs:
            self._forget_history(run.execution)

    def check_history(self, events, workflow_id='history-check'):
        """Replay a recorded history against the workflows this decider runs now.

        ``events``: a run's whole history, as ``get_workflow_execution_history`` gives it
        (:func:`flowy.swf.status.history_events` reads every page).  Raises
        :class:`flowy.NondeterminismError` when the code no longer makes the calls the
        history recorded (the change would fail running executions of this version),
        ``LookupError`` when no registered workflow has the run's type and version, and
        :class:`~flowy.swf.events.HistoryError` for events a decider could not read
        either (out of order, repeated, missing, or malformed: the checks of a live
        decision task).  Returns the :class:`flowy.decision.Decision` the code makes at
        the end of the history.  Check a change against histories of real runs before
        deploying it.
        """
        execution = read_history(list(events), workflow_id, store=self.payload_store)
        execution.history.ids = (workflow_id, None)
        key = (execution.workflow_name, execution.workflow_version)
        workflow = self.registry.get(key)
        if workflow is None:
            raise LookupError('this decider runs no workflow %s version %s (it runs: %s)'
                              % (key + (', '.join('%s %s' % known for known in
                                                  sorted(self.registry)) or 'none',)))
        decision = replay(workflow, execution.input, execution.history)
        error = getattr(decision.outcome, 'error', None)
        if isinstance(error, NondeterminismError):
            raise NondeterminismError('%s %s: %s' % (key + (error,))) from error
        return decision

    # -- polling --------------------------------------------------------------------------

    def poll(self, client, domain, task_list, identity):
        """Poll ``task_list`` of ``domain`` once: the :class:`DecisionTask`, or None."""
        reverse = self.caching
        size = self.page_size
        if size is None and reverse:
            size = self._first_page
        self.stats['polls'] += 1
        self.stats['api_calls'] += 1
        response = client.poll_for_decision_task(domain, task_list, identity=identity,
                                                 max_page_size=size, reverse_order=reverse)
        if not response or not response.get('taskToken'):
            return None  # the long poll ended without a task
        self.stats['events'] += len(response.get('events') or ())
        return DecisionTask(response, domain, task_list, identity, reverse, self.clock(),
                            size)

    def handle(self, client, task):
        """Decide ``task`` and answer it; never raises (a failure is logged, and the task
        is left to time out and be delivered again)."""
        self.stats['decision_tasks'] += 1
        run_key = task.run
        workflow = self.registry.get(task.type_key)
        if workflow is None:
            self.stats['unknown_type'] += 1
            self.stats['unanswered'] += 1
            log.error('the workflow type %s version %s of %s/%s is not registered with this '
                      'decider (it runs %s); the decision task is left for a decider that '
                      'runs it: SWF delivers it again after its start-to-close timeout',
                      *(task.type_key + run_key),
                      ', '.join('%s %s' % key for key in sorted(self.registry)) or 'nothing')
            return
        with self._answering:
            try:
                self._handle(client, task, workflow, run_key)
            except Exception:  # never let one task end the loop
                self._forget(run_key)
                self.stats['unanswered'] += 1
                log.exception('the decision task of %s/%s could not be handled', *run_key)

    def _handle(self, client, task, workflow, run_key):
        cpu = time.process_time()
        run = None
        closing = True
        cached = False
        new = 0
        try:
            run, new, cached = self._read(client, task, run_key)
            run.execution.history.ids = run_key  # what flowy.context() gives the body
            decisions, closing = self._decide(workflow, run)
        except _CannotDecide as exc:
            decisions = [self._failing(run_key, exc.reason, exc.details)]
        except (PayloadMissing, PayloadTooLarge) as exc:
            decisions = [self._failing(run_key, 'a payload of this run cannot be used: %s' % exc,
                                       _PAYLOAD_HINT)]
        except (PagingError, PayloadError) as exc:
            # worth trying again: SWF delivers the task again after its timeout
            self._drop(run_key, run)
            self.stats['unanswered'] += 1
            log.log(logging.INFO if isinstance(exc, Stopping) else logging.ERROR,
                    'cannot decide for %s/%s; the task is left to time out and be tried '
                    'again: %s', *run_key, exc)
            return
        finally:
            self.stats['cpu_time'] += time.process_time() - cpu
        self._check_time(task, run)
        if closing:
            self._drop(run_key, run)
            self._holding.forget(run_key)
            hold = 0
        else:
            # kept before the answer goes: the run's next task may come as soon as it does
            self._keep(run_key, run, task.response.get('startedEventId') or 0)
            hold = self._holding.hold_for(run_key, run.execution, decisions, task.received)
        spent = time.process_time() - cpu

        def answer():
            with self._answering:
                self._answer(client, task, run_key, workflow, run, decisions, spent, cached,
                             (new, closing, hold))
        if hold:
            self._holding.hold(hold, answer)
        else:
            answer()

    def _answer(self, client, task, run_key, workflow, run, decisions, spent, cached,
                summary):
        """Send the decisions of ``task`` and report them.  ``spent``: the CPU deciding
        took; ``summary``: (new events, closing, seconds held) for the log."""
        cpu = time.process_time()
        if not self._respond(client, task, decisions):
            self._drop(run_key, run)
            return
        if cached:
            self.stats['cached'] += 1
        self._report(task, run_key, workflow, run, decisions,
                     spent + time.process_time() - cpu)
        new, closing, hold = summary
        log.info('%s %s %s/%s: %d new events, %d decisions%s (%s)%s', *task.type_key, *run_key,
                 new, len(decisions), ', closing' if closing else '',
                 'cached' if cached else 'replayed', ' held %.2f s' % hold if hold else '')

    def _report(self, task, run_key, workflow, run, decisions, duration):
        """Send the events of this decision (:mod:`flowy.swf.observing`).

        The outcomes reported are counted per run with the task answered, so that the
        next task of the run reports only what is new, whether the run was kept or read
        again (the replay driver keeps none).
        """
        if run is None:
            return  # a history that could not be read: the run fails, nothing to report
        previous = task.response.get('previousStartedEventId') or 0
        reported = self._reported.pop(run_key, None)
        seen = 0 if not previous else (
            reported[1] if reported is not None and reported[0] == previous else None)
        finished = report_decision(run_key, workflow.key[0], run.execution.history,
                                   not previous, seen, decisions, duration)
        self._reported[run_key] = (task.response.get('startedEventId') or 0, finished)
        while len(self._reported) > max(self.cache_size, 256):
            self._reported.popitem(last=False)

    def _failing(self, run_key, reason, details):
        self.stats['failed'] += 1
        log.error('failing %s/%s: %s', *run_key, reason)
        return fail_workflow(reason, details)

    def _check_time(self, task, run):
        """Warn when the decision took longer than its task may: SWF timed it out."""
        timeout = None if run is None else run.execution.task_start_to_close_timeout
        if task.received is None or not timeout or not timeout.isdigit():
            return
        taken = self.clock() - task.received
        if taken > int(timeout):
            log.warning('the decision for %s/%s took %.1f s, longer than the %s s its decision '
                        'task may take (its start-to-close timeout). %s', *task.run, taken,
                        timeout, _DECISION_TIMEOUT_HINT)

    def _respond(self, client, task, decisions):
        """Answer the task; False if that failed (SWF may or may not have applied it)."""
        self.stats['api_calls'] += 1
        try:
            client.respond_decision_task_completed(task.token, decisions=decisions)
        except Exception as exc:
            self.stats['unanswered'] += 1
            if error_code(exc) == 'UnknownResourceFault':
                log.info('the decision task of %s/%s is no longer open (it timed out or was '
                         'answered already): %s', *task.run, exc)
            else:
                log.error('answering the decision task of %s/%s failed: %s', *task.run,
                          exception_line(exc))
            return False
        self.stats['responses'] += 1
        self.stats['decisions'] += len(decisions)
        return True

    # -- reading the history ------------------------------------------------------------

    def _read(self, client, task, run_key):
        """The run up to this task: ``(_Run, how many events were new, cached)``."""
        pages = Pages(self, client, task)
        run = self._runs.get(run_key) if self.caching else None
        if run is not None:
            new = self._follow(run, pages, task, run_key)
            if new is not None:
                self._runs.move_to_end(run_key)
                if self.page_size is None:
                    self._observe(new)
                return run, new, True
            self._forget(run_key)
        try:
            run = _Run(self._whole_history(client, pages, task, run_key))
        except MissingEvents as exc:
            raise PagingError('the pages of its history miss events: %s' % exc) from exc
        except HistoryError as exc:
            raise _unreadable(exc) from exc
        self.stats['replays'] += 1
        return run, run.execution.event_count, False

    def _follow(self, run, pages, task, run_key):
        """Feed the new events to the run kept; how many, or None to read it all."""
        previous = task.response.get('previousStartedEventId') or 0
        if not previous or run.answered != previous:
            return None  # another decider answered in between, or a response got lost
        started = task.response.get('startedEventId') or 0
        execution = run.execution
        try:
            news = pages.events_after(execution.last_event_id, started)
            return None if news is None else execution.feed(news)
        except HistoryError as exc:
            log.warning('the new events of %s/%s do not fit its cached history (%s); '
                        'reading the whole history', *run_key, exc)
            return None

    def _whole_history(self, client, pages, task, run_key):
        started = task.response.get('startedEventId') or 0
        if self.page_size is None and task.reverse and not pages.complete:
            # A small newest-first first page: read the history forward in large pages.
            events = self.read_forward(client, task)
        else:
            events = pages.all_events()
        if started:
            events = [event for event in events if event_id(event) <= started]
        return read_history(events, run_key[0], self.payload_store, last=started or None)

    # -- deciding -----------------------------------------------------------------------

    def _decide(self, workflow, run):
        """The SWF decisions for this task, and whether they close the execution."""
        execution = run.execution
        if execution.cancel_requested:
            return cancel_run(execution, CANCEL_DETAILS), True
        name = '%s %s' % workflow.key
        try:
            decision = self.driver(workflow, execution.input, execution.history,
                                   limit=workflow.limit)
            outcome = decision.outcome
            if type(outcome) is Fail and isinstance(outcome.error, NondeterminismError):
                raise _CannotDecide(
                    'non-deterministic workflow %s: %s' % (name, outcome.error),
                    'The code of the workflow type %s makes other task calls than this run '
                    'made before (see above). It probably changed while this run was in '
                    'progress. Deploy the old code for the running executions, or give the '
                    'changed code a new version (the version in @config(version=...)) so '
                    'that only new executions use it, and keep a decider with the old '
                    'version until the old executions end.' % name)
            # call_limit: the calls waiting for a retry timer are placed within the same
            # limit the driver had, so both drivers send the same responses
            decisions = to_swf(decision, self._types(workflow), run.packer,
                               store=self.payload_store, call_limit=workflow.limit)
        except (_CannotDecide, PayloadError):
            raise
        except TooManyDecisions as exc:
            raise _CannotDecide(
                'the decision of %s does not fit in one SWF response: %s' % (name, exc),
                'Give the SWFWorkflowConfig a smaller rate_limit.') from exc
        except Exception as exc:
            raise _CannotDecide(
                'the decider failed on workflow %s: %s' % (name, exception_line(exc)),
                'This is a bug in flowy or a problem with the configuration of the '
                'workflow (for example a dependency without an SWF type). The '
                'traceback:\n%s' % traceback.format_exc()) from exc
        # (an outcome does not close the run while calls it made are held back: to_swf
        # then sends them first, as a replay would)
        closing = decision.outcome is not None and bool(decisions) and (
            decisions[-1]['decisionType'] in CLOSING)
        return decisions, closing

    def _types(self, workflow):
        """The workflow's task types, moved to the override task list if there is one."""
        override = self.task_list_override
        if override is None:
            return workflow.task_types
        key = id(workflow)
        types = self._task_types.get(key)
        if types is None or types[0] is not workflow:
            moved = {}
            for dep, task_type in workflow.task_types.items():
                task_type = copy.copy(task_type)
                task_type.task_list = override
                moved[dep] = task_type
            types = self._task_types[key] = (workflow, moved)
        return types[1]

    # -- the cache ----------------------------------------------------------------------

    def _keep(self, run_key, run, started):
        if not self.caching or not started:
            return
        kept = self._runs.get(run_key)
        if kept is not None and kept is not run:
            self._forget(run_key)
        run.answered = started
        self._runs[run_key] = run
        self._runs.move_to_end(run_key)
        while len(self._runs) > self.cache_size:
            _, dropped = self._runs.popitem(last=False)
            self._forget_history(dropped.execution)

    def _forget(self, run_key):
        run = self._runs.pop(run_key, None)
        if run is not None:
            self._forget_history(run.execution)

    def _drop(self, run_key, run):
        """Forget the run, and the body the driver may have built for it (a run read
        again since, from a later task, stays)."""
        if run is None or self._runs.get(run_key) is run:
            self._forget(run_key)
        if run is not None:
            self._forget_history(run.execution)

    def _forget_history(self, execution):
        forget = getattr(self.driver, 'forget', None)
        if forget is not None:
            forget(execution.history)


def _unreadable(error):
    """Why the run fails when its history cannot be read (a :class:`_CannotDecide`)."""
    if isinstance(error.__cause__, PayloadMissing):
        return _CannotDecide('the input of this run cannot be read: %s' % error, _PAYLOAD_HINT)
    return _CannotDecide('flowy cannot read the history of this run: %s' % error, _HISTORY_HINT)
