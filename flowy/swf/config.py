"""How activities and workflows are named, versioned and timed on SWF.

A config is made once and used as a decorator::

    activities = SWFActivityConfig(default_task_list='work', default_start_to_close=60,
                                   default_schedule_to_start=600,
                                   default_schedule_to_close=660, default_heartbeat=30)

    @activities(version='1')
    def square(n):
        return n * n

    workflows = SWFWorkflowConfig(default_task_list='decide', default_workflow_duration=3600,
                                  default_decision_duration=60)
    workflows.conf_activity('square', version='1')

    @workflows(version='1')
    class SumSquares:
        def __init__(self, square): ...

The decorator leaves the function or class untouched: it only marks it for a worker's
``scan()`` (venusian), so the module imports and runs without SWF, and the same
function is an activity on the local engine too.  The defaults are what the worker
registers with the type on SWF; an existing type must have the same defaults.
"""

import venusian

from ..config import ACTIVITY, WORKFLOW, TaskSpec, WorkflowConfig, check_transport
from ..errors import FlowyError
from .client import error_code
from .decisions import CALL_LIMIT
from .types import TaskType

__all__ = ['SWFActivityConfig', 'SWFWorkflowConfig', 'SWFActivity', 'SWFWorkflow',
           'SWFRegistrationError']

ACTIVITY_CATEGORY = 'flowy.swf.activity'
WORKFLOW_CATEGORY = 'flowy.swf.workflow'


class SWFRegistrationError(FlowyError):
    """A type could not be registered on SWF, or exists there with other defaults."""


SWFRegistrationError.__module__ = 'flowy'  # shown where users import it from


def _unbound(**tasks):  # the factory of a config's dependency list before it decorates one
    raise TypeError('an SWFWorkflowConfig is used as a decorator, not run')


class _Decorator:
    """The ``@config(version, name=None)`` decorator shared by both configs."""

    category = None

    def __call__(self, version, name=None):
        config = self

        def decorate(obj):
            def found(scanner, obj_name, obj):
                scanner.worker.register(config, obj, version, name)

            venusian.attach(obj, found, category=config.category)
            return obj

        return decorate


def _compare(name, version, wanted, configuration, status):
    """Raise SWFRegistrationError unless the remote type has the wanted defaults."""
    if status == 'DEPRECATED':
        raise SWFRegistrationError(
            'the type %s version %s is deprecated on SWF; register a new version'
            % (name, version))
    differences = []
    for field, value in wanted.items():
        remote = configuration.get(field)
        if isinstance(remote, dict):  # a task list
            remote = remote.get('name')
        if remote != value:
            differences.append('%s is %r on SWF, %r here' % (field, remote, value))
    if differences:
        raise SWFRegistrationError(
            'the type %s version %s is registered on SWF with other defaults: %s. Registered '
            'types cannot change: give this code a new version, or use the registered '
            'defaults' % (name, version, '; '.join(differences)))


def _register(client, domain, kind, name, version, defaults, register, describe):
    """Register a type, or check that the existing one has the same defaults."""
    try:
        register(domain, name, version, **defaults)
        return True
    except Exception as exc:
        if error_code(exc) != 'TypeAlreadyExistsFault':
            raise SWFRegistrationError('cannot register the %s type %s version %s in the '
                                       'domain %s: %s' % (kind, name, version, domain, exc)
                                       ) from exc
    try:
        described = describe(domain, name, version)
    except Exception as exc:
        raise SWFRegistrationError('the %s type %s version %s exists in the domain %s but '
                                   'cannot be described: %s' % (kind, name, version, domain,
                                                                exc)) from exc
    wanted = {_DEFAULT_FIELDS[field]: value for field, value in defaults.items()}
    _compare(name, version, wanted, described.get('configuration') or {},
             (described.get('typeInfo') or {}).get('status'))
    return False


_DEFAULT_FIELDS = {
    'task_list': 'defaultTaskList',
    'heartbeat': 'defaultTaskHeartbeatTimeout',
    'schedule_to_close': 'defaultTaskScheduleToCloseTimeout',
    'schedule_to_start': 'defaultTaskScheduleToStartTimeout',
    'start_to_close': 'defaultTaskStartToCloseTimeout',
    'workflow_duration': 'defaultExecutionStartToCloseTimeout',
    'decision_duration': 'defaultTaskStartToCloseTimeout',
    'child_policy': 'defaultChildPolicy',
}


class SWFActivityConfig(_Decorator):
    """Defaults for activity types: task list and timeouts (whole seconds, or 'NONE').

    ``default_task_list``: where the type's tasks go unless a call says otherwise;
    ``default_heartbeat``, ``default_schedule_to_close``, ``default_schedule_to_start``
    and ``default_start_to_close``: the type's default timeouts (SWF's
    ``defaultTaskHeartbeatTimeout`` and so on).  ``transport`` decodes the arguments and
    encodes the result (tagged JSON by default; it must match the transport the
    workflows use for this activity).
    """

    category = ACTIVITY_CATEGORY

    def __init__(self, default_task_list=None, default_heartbeat=None,
                 default_schedule_to_close=None, default_schedule_to_start=None,
                 default_start_to_close=None, transport=None):
        # TaskType checks names and durations the way SWF will
        checked = TaskType(ACTIVITY, 'defaults', '1', task_list=default_task_list,
                           heartbeat=default_heartbeat,
                           schedule_to_close=default_schedule_to_close,
                           schedule_to_start=default_schedule_to_start,
                           start_to_close=default_start_to_close)
        self.default_task_list = checked.task_list
        self.default_heartbeat = checked.heartbeat
        self.default_schedule_to_close = checked.schedule_to_close
        self.default_schedule_to_start = checked.schedule_to_start
        self.default_start_to_close = checked.start_to_close
        self.transport = check_transport(transport)

    def defaults(self):
        """The defaults registered with the type, as :meth:`SWFClient.register_activity_type`
        arguments."""
        return {'task_list': self.default_task_list, 'heartbeat': self.default_heartbeat,
                'schedule_to_close': self.default_schedule_to_close,
                'schedule_to_start': self.default_schedule_to_start,
                'start_to_close': self.default_start_to_close}

    def bind(self, func, version, name=None):
        """The :class:`SWFActivity` that runs ``func`` as type ``name`` (its __name__)
        version ``version``."""
        return SWFActivity(self, func, version, name)

    def __repr__(self):
        return '<SWFActivityConfig %s>' % ' '.join(
            '%s=%s' % item for item in self.defaults().items() if item[1] is not None)


class SWFActivity:
    """One activity type a worker runs: the function, its name, version and config."""

    def __init__(self, config, func, version, name=None):
        if not callable(func):
            raise TypeError('an activity must be a callable; got %r' % (func,))
        name = name if name is not None else getattr(func, '__name__', None)
        checked = TaskType(ACTIVITY, name, version)
        self.config = config
        self.func = func
        self.name = checked.name
        self.version = checked.version

    @property
    def key(self):
        return (self.name, self.version)

    def register_remote(self, client, domain):
        """Register the type on SWF; check an existing one.  True if it was new."""
        return _register(client, domain, 'activity', self.name, self.version,
                         self.config.defaults(), client.register_activity_type,
                         client.describe_activity_type)

    def __repr__(self):
        return '<SWFActivity %s %s>' % self.key


class SWFWorkflowConfig(_Decorator):
    """Defaults for workflow types, and the tasks a workflow's constructor receives.

    ``default_task_list``: where the type's decision tasks go; ``default_workflow_duration``
    and ``default_decision_duration``: how long an execution, and one decision, may take;
    ``transport`` encodes the workflow's input and result (tagged JSON by default).
    Durations are whole seconds (``default_decision_duration`` may also be 'NONE', no
    limit).  ``default_child_policy``: what SWF does to this workflow's running children
    when it closes or is terminated (TERMINATE, REQUEST_CANCEL or ABANDON).

    ``rate_limit``: the most new tasks (activities, child workflows and retry timers)
    one decision starts; calls beyond it are started by the next decisions, in call
    order.  It bounds the size of a decision, not how many tasks run at once.  ``None``
    means no limit of flowy's own; a decision still holds at most 99 starts (SWF's
    100 decisions per response, less one for the decider's wake-up timer).
    """

    category = WORKFLOW_CATEGORY

    def __init__(self, default_task_list=None, default_workflow_duration=None,
                 default_decision_duration=None, default_child_policy=None, rate_limit=64,
                 transport=None):
        checked = TaskType(WORKFLOW, 'defaults', '1', task_list=default_task_list,
                           workflow_duration=default_workflow_duration,
                           decision_duration=default_decision_duration,
                           child_policy=default_child_policy)
        self.default_task_list = checked.task_list
        self.default_workflow_duration = checked.workflow_duration
        self.default_decision_duration = checked.decision_duration
        self.default_child_policy = checked.child_policy
        if rate_limit is not None and (type(rate_limit) is not int or rate_limit < 1):
            raise ValueError('rate_limit must be a whole number of tasks greater than 0, or '
                             'None for no limit; got %r' % (rate_limit,))
        self.rate_limit = rate_limit
        self.transport = check_transport(transport)
        self._tasks = WorkflowConfig(_unbound)

    def conf_activity(self, dep, version, name=None, task_list=None, heartbeat=None,
                      schedule_to_close=None, schedule_to_start=None, start_to_close=None,
                      retry=(0,), retry_failures=False, transport=None):
        """Give the workflow's ``dep`` argument the activity type ``name`` (default: ``dep``).

        ``version``: the activity type's version.  The task list and timeouts given here
        (``task_list``, ``heartbeat``, ``schedule_to_close``, ``schedule_to_start``,
        ``start_to_close``) override the type's registered defaults for these calls;
        ``transport`` encodes the calls' arguments and decodes their results (tagged
        JSON by default: the activity's own).  ``retry`` holds one delay in seconds per
        attempt: ``(0, 10, 60)`` starts a timed-out call again after 10 s, then after 60 s
        (a back-off).  ``retry_failures=True`` retries calls that failed as well, not only
        timeouts.
        """
        task_type = TaskType(ACTIVITY, dep if name is None else name, version,
                             task_list=task_list, heartbeat=heartbeat,
                             schedule_to_close=schedule_to_close,
                             schedule_to_start=schedule_to_start,
                             start_to_close=start_to_close)
        self._tasks._add_task(TaskSpec(dep, ACTIVITY, task_type, transport, retry,
                                       retry_failures))

    def conf_workflow(self, dep, version, name=None, task_list=None, workflow_duration=None,
                      decision_duration=None, child_policy=None, retry=(0,),
                      retry_failures=False, transport=None):
        """Give ``dep`` the workflow type ``name`` (default: ``dep``), run as a child workflow.

        ``version``: the workflow type's version.  ``task_list``, ``workflow_duration``,
        ``decision_duration`` and ``child_policy`` override the type's registered
        defaults for these calls; ``retry`` and ``retry_failures`` are as for
        :meth:`conf_activity`; ``transport`` encodes the child's input and decodes its
        result.  The child's id is derived from this run's id and the call, so a replay
        never starts it twice.  A name the workflow's factory does not take is refused
        when the workflow is decorated.
        """
        task_type = TaskType(WORKFLOW, dep if name is None else name, version,
                             task_list=task_list, workflow_duration=workflow_duration,
                             decision_duration=decision_duration, child_policy=child_policy)
        self._tasks._add_task(TaskSpec(dep, WORKFLOW, task_type, transport, retry,
                                       retry_failures))

    def defaults(self):
        """The defaults registered with the type, as :meth:`SWFClient.register_workflow_type`
        arguments."""
        return {'task_list': self.default_task_list,
                'workflow_duration': self.default_workflow_duration,
                'decision_duration': self.default_decision_duration,
                'child_policy': self.default_child_policy}

    def bind(self, factory, version, name=None):
        """The :class:`SWFWorkflow` that runs ``factory`` as type ``name`` (its __name__)
        version ``version``."""
        return SWFWorkflow(self, factory, version, name)

    def __repr__(self):
        return '<SWFWorkflowConfig deps=%s>' % ','.join(self._tasks.specs)


class SWFWorkflow(WorkflowConfig):
    """One workflow type a decider runs: the factory with its tasks, name and version."""

    def __init__(self, config, factory, version, name=None):
        super().__init__(factory, config.transport)
        name = name if name is not None else getattr(factory, '__name__', None)
        checked = TaskType(WORKFLOW, name, version)
        self.swf_config = config
        self.type_name = checked.name
        self.version = checked.version
        for spec in config._tasks.specs.values():
            self._add_task(spec)
        self._check_factory()
        self.task_types = {dep: spec.target for dep, spec in self.specs.items()}
        rate_limit = config.rate_limit
        self.limit = CALL_LIMIT if rate_limit is None else min(rate_limit, CALL_LIMIT)

    @property
    def key(self):
        return (self.type_name, self.version)

    @property
    def name(self):
        """The workflow type's name: what ``flowy.context().workflow`` gives its body (and
        its activities, which learn it from SWF)."""
        return self.type_name

    def register_remote(self, client, domain):
        """Register the type on SWF; check an existing one.  True if it was new."""
        return _register(client, domain, 'workflow', self.type_name, self.version,
                         self.swf_config.defaults(), client.register_workflow_type,
                         client.describe_workflow_type)

    def __repr__(self):
        return '<SWFWorkflow %s %s deps=%s>' % (self.type_name, self.version,
                                                ','.join(self.specs))

