"""The SWF engines of the semantics suite: LocalWorkflow configurations run on moto's SWF.

:class:`SWFRuntime` is one in-process moto (``mock_aws``, with ``tests/swf/moto_ext.py``
filling moto's gaps) holding one domain, with a decider thread per driver and a few
activity worker threads (flowy's :class:`SWFWorkflowWorker` and
:class:`SWFActivityWorker`) polling their task lists in it.  :meth:`SWFRuntime.run`
turns the LocalWorkflow the harness built into SWF types, registered programmatically
with those workers and on SWF, starts an execution with :class:`SWFWorkflowStarter` and
waits for its outcome with :func:`wait_for_result`: the decoded result, or the
``flowy.TaskError`` with the reason SWF recorded.

How a LocalWorkflow maps to SWF:

* each LocalWorkflow object (a root, a child, the copy that a child transport makes) is
  one workflow type with an SWFWorkflowConfig of its own, whose transport is the
  configuration's; ``SELF`` is the same object, hence the same type;
* each (function, transport) pair is one activity type, run by every activity worker
  with an SWFActivityConfig of that transport;
* every default (timeouts, task lists, child policy) is given, so SWF never refuses a
  start for a missing one.

Type names (``<number>.<Python name>``) are unique within a runtime, so runs never
share a type by accident; a configuration run again reuses its types.  The decision task
list of a type is that of the decider (one per driver) that runs it.  The activity
workers are several threads so that calls held by a gate (``sem_activities``) leave
others to run, as in the thread pool of the local engine; each runs one activity at a
time.

An open execution that waits for nothing (no decision task, activity, child workflow or
timer open) would wait on SWF until it times out; :meth:`SWFRuntime.run` raises
:class:`Stuck` for it at once.

The moto imports happen when a runtime starts: the other engines do not need moto.
"""

import itertools
import os
import sys
import threading
import time

from flowy.config import WORKFLOW
from flowy.swf.activity import SWFActivityWorker
from flowy.swf.client import SWFClient, error_code
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig
from flowy.swf.decider import SWFWorkflowWorker
from flowy.swf.starter import SWFWorkflowStarter
from flowy.swf.status import wait_for_result

__all__ = ['SWFRuntime', 'Stuck']

SWF_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, 'swf')

DOMAIN = 'flowy-semantics'
DECISIONS = 'semantics-decisions-%s'  # % the driver
ACTIVITIES = 'semantics-activities'
VERSION = '1'
ACTIVITY_THREADS = 4  # one more than the most calls that one test holds at a gate
EMPTY_POLL_WAIT = 0.005  # seconds an empty poll waits in moto_ext (moto: 1 s)
RESULT_POLL = 0.01  # seconds between two look-ups of wait_for_result
STUCK_CHECK = 0.5  # seconds between two looks for executions that wait for nothing
RESULT_TIMEOUT = 60  # the longest one run may take
STOP_TIMEOUT = 10  # the longest the worker threads may take to stop
ACTIVITY_TIMEOUTS = dict(default_heartbeat=600, default_schedule_to_close=1200,
                         default_schedule_to_start=600, default_start_to_close=600)
WORKFLOW_TIMEOUTS = dict(default_workflow_duration=3600, default_decision_duration=300,
                         default_child_policy='TERMINATE')
ENVIRONMENT = {  # None: unset while the runtime runs
    'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_SESSION_TOKEN': 'testing', 'AWS_DEFAULT_REGION': 'us-east-1',
    'AWS_PROFILE': None, 'AWS_ENDPOINT_URL': None, 'AWS_ENDPOINT_URL_SWF': None,
}
_FORBIDDEN = ':/|'


class Stuck(AssertionError):
    """An open execution waits for nothing: SWF would never schedule its next decision."""


def _type_name(number, name):
    """``<number>.<name>``: unique, and valid as an SWF name."""
    name = ''.join('_' if char in _FORBIDDEN or not char.isprintable() else char
                   for char in str(name))
    return ('%d.%s' % (number, name))[:200]


class SWFRuntime:
    """moto's SWF with deciders and activity workers in threads (see the module).

    :meth:`run` enters ``mock_aws`` on first use and starts the threads it needs;
    :meth:`stop_workers` stops every thread and keeps the rest (mock, domain, types) for
    the next run, so that nothing of SWF runs while the tests of other engines do;
    :meth:`close` also leaves the mock and restores the environment.  Both may be called
    more than once.
    """

    def __init__(self, activity_threads=ACTIVITY_THREADS):
        self.activity_threads = activity_threads
        self.client = None
        self.deciders = {}  # driver -> its SWFWorkflowWorker
        self.activity_workers = []
        self.threads = []
        self._counter = itertools.count(1)
        self._workflows = {}  # (id(LocalWorkflow), driver) -> (it, its SWF type name)
        self._activities = {}  # (id(function), id(transport)) -> (them, the type name)
        self._activity_configs = {}  # id(transport) -> (it, its SWFActivityConfig)
        self._mock = None
        self._environment = None

    def __repr__(self):
        return '<SWFRuntime %s, %d threads>' % (
            'in moto' if self._mock is not None else 'closed', len(self.threads))

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, driver='cached'):
        """Enter the mock (once), then start the threads of ``driver``'s decider and of the
        activity workers (unless they run)."""
        if self._mock is None:
            self._start_mock()
        if driver not in self.deciders:
            self.deciders[driver] = SWFWorkflowWorker(driver=driver)
        running = {thread.worker for thread in self.threads}
        wanted = [(self.deciders[driver], DECISIONS % driver, 'decider-' + driver)] + [
            (worker, ACTIVITIES, 'activities-%d' % number)
            for number, worker in enumerate(self.activity_workers)]
        for worker, task_list, name in wanted:
            if worker in running:
                continue
            thread = threading.Thread(
                target=worker.run_forever, args=(DOMAIN, task_list),
                kwargs=dict(swf_client=self.client, setup_log=False, register_remote=False,
                            identity=name),
                name='swf-' + name, daemon=True)
            thread.worker = worker
            self.threads.append(thread)
            thread.start()
        return self

    def _start_mock(self):
        if SWF_TESTS not in sys.path:
            sys.path.insert(0, SWF_TESTS)
        import boto3
        import moto_ext
        from botocore.config import Config
        from moto import mock_aws

        self._environment = {key: os.environ.get(key) for key in ENVIRONMENT}
        _set_environment(ENVIRONMENT)
        try:
            moto_ext.install()
            moto_ext.set_poll_wait(EMPTY_POLL_WAIT)
            mock = mock_aws()
            mock.start()
            self._mock = mock
            boto = boto3.client('swf', region_name='us-east-1',
                                config=Config(retries={'total_max_attempts': 1}))
            self.client = SWFClient(client=boto)
            self.client.register_domain(DOMAIN)
        except BaseException:
            self.close()
            raise
        self.activity_workers = [SWFActivityWorker() for _ in range(self.activity_threads)]

    def stop_workers(self):
        """Stop every thread (each finishes the task in hand), then terminate the executions
        still open (children a failed parent left, say): the next run starts clean.

        Raises AssertionError if a thread does not stop.
        """
        threads, self.threads = self.threads, []
        for thread in threads:
            thread.worker.stop()
        deadline = time.monotonic() + STOP_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        hanging = [thread.name for thread in threads if thread.is_alive()]
        assert not hanging, 'SWF worker threads did not stop: %s' % ', '.join(hanging)
        if self._mock is not None:
            self.terminate_open()

    def close(self):
        """Stop the threads, leave the mock and restore the environment."""
        try:
            self.stop_workers()
        finally:
            if self._mock is not None:
                mock, self._mock = self._mock, None
                mock.stop()
            if 'moto_ext' in sys.modules:
                sys.modules['moto_ext'].set_poll_wait()
            if self._environment is not None:
                environment, self._environment = self._environment, None
                _set_environment(environment)

    # -- running a workflow ---------------------------------------------------------------

    def run(self, config, args, kwargs, driver='cached', signals=()):
        """Run the LocalWorkflow ``config`` on SWF: its result, or TaskError.

        ``signals`` (``(name, value)`` pairs) are sent to the run as soon as it started,
        in that order (``SignalWorkflowExecution``, encoded with the workflow's transport).
        """
        self.start(driver)
        name = self.workflow_type(config, driver)
        starter = SWFWorkflowStarter(DOMAIN, name, VERSION, swf_client=self.client,
                                     transport=config.transport)
        workflow_id, run_id = starter.start(*args, **kwargs)
        for signal_name, value in signals:
            starter.signal(workflow_id, signal_name, value, run_id=run_id)
        deadline = time.monotonic() + RESULT_TIMEOUT
        while True:
            try:
                return wait_for_result(self.client, DOMAIN, workflow_id, run_id,
                                       timeout=STUCK_CHECK, poll_interval=RESULT_POLL,
                                       transport=config.transport)
            except TimeoutError:
                stuck = self.stuck(workflow_id)
                if not stuck and time.monotonic() < deadline:
                    continue
                self.terminate_open()  # leave nothing running for the next test
                if stuck:
                    raise Stuck('%s: an execution is open but waits for nothing (no '
                                'decision task, activity, child workflow or timer is open); '
                                'SWF would leave it so until it times out.\n%s'
                                % (name, '\n'.join(stuck))) from None
                raise

    def stuck(self, workflow_id):
        """The open executions of ``workflow_id`` and its descendants (whose ids start with
        it) that wait for nothing, each with its last events.

        In moto (with moto_ext's lock around every call) an execution that goes on always
        has an open decision task, activity task, child workflow or timer: whatever
        closes one schedules what comes next in the same call.
        """
        stuck = []
        for execution in self._open_executions():
            run_wid, run_id = execution['workflowId'], execution['runId']
            if not run_wid.startswith(workflow_id):
                continue
            try:
                info = self.client.describe_workflow_execution(DOMAIN, run_wid, run_id)
            except Exception as exc:
                if error_code(exc) == 'UnknownResourceFault':
                    continue
                raise
            if (info['executionInfo']['executionStatus'] != 'OPEN'
                    or any(info['openCounts'].values())):
                continue
            events = self.client.get_workflow_execution_history(
                DOMAIN, run_wid, run_id, max_page_size=8, reverse_order=True)['events']
            stuck.append('%s (%s), its last events: %s' % (
                run_wid, info['executionInfo']['workflowType']['name'],
                ', '.join(event['eventType'] for event in reversed(events))))
        return stuck

    def terminate_open(self):
        """Terminate every open execution of the domain (children included)."""
        for execution in self._open_executions():
            try:
                self.client.terminate_workflow_execution(
                    DOMAIN, execution['workflowId'], execution['runId'],
                    reason='the semantics test gave up waiting')
            except Exception as exc:
                if error_code(exc) != 'UnknownResourceFault':
                    raise

    def _open_executions(self):
        infos = self.client.client.list_open_workflow_executions(
            domain=DOMAIN, startTimeFilter={'oldestDate': 0})['executionInfos']
        return [info['execution'] for info in infos]

    # -- types ----------------------------------------------------------------------------

    def workflow_type(self, config, driver='cached'):
        """The name of the SWF workflow type that runs the LocalWorkflow ``config``."""
        key = (id(config), driver)
        known = self._workflows.get(key)
        if known is not None:
            return known[1]
        name = _type_name(next(self._counter), getattr(config.factory, '__name__', 'workflow'))
        # recorded before its dependencies: a workflow may be its own child (SELF)
        self._workflows[key] = (config, name)
        swf_config = SWFWorkflowConfig(default_task_list=DECISIONS % driver,
                                       transport=config.transport, **WORKFLOW_TIMEOUTS)
        for dep, spec in config.specs.items():
            options = dict(retry=spec.retry, retry_failures=spec.retry_failures,
                           transport=spec.transport)
            if spec.kind is WORKFLOW:
                # spec.target has the transport of this dependency (LocalWorkflow copies a
                # child configured with another one): the child's type decodes with it
                swf_config.conf_workflow(dep, VERSION,
                                         name=self.workflow_type(spec.target, driver),
                                         **options)
            else:
                swf_config.conf_activity(dep, VERSION,
                                         name=self.activity_type(spec.target, spec.transport),
                                         **options)
        workflow = self.deciders[driver].register(swf_config, config.factory, VERSION, name)
        workflow.register_remote(self.client, DOMAIN)
        return name

    def activity_type(self, func, transport):
        """The name of the SWF activity type that runs ``func`` with ``transport``."""
        key = (id(func), id(transport))
        known = self._activities.get(key)
        if known is not None:
            return known[2]
        name = _type_name(next(self._counter), getattr(func, '__name__', 'activity'))
        activity_config = self._activity_config(transport)
        for worker in self.activity_workers:
            activity = worker.register(activity_config, func, VERSION, name)
        activity.register_remote(self.client, DOMAIN)
        self._activities[key] = (func, transport, name)
        return name

    def _activity_config(self, transport):
        known = self._activity_configs.get(id(transport))
        if known is None:
            config = SWFActivityConfig(default_task_list=ACTIVITIES, transport=transport,
                                       **ACTIVITY_TIMEOUTS)
            known = self._activity_configs[id(transport)] = (transport, config)
        return known[1]


def _set_environment(values):
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
