"""Start workflow executions on SWF from code.

::

    start = SWFWorkflowStarter('my-domain', 'SumSquares', '1', task_list='decide')
    run_id = start(10)                     # a new execution of SumSquares(...)(10)
    workflow_id, run_id = start.start(10)  # the same, telling the workflow id too

The arguments travel as ``[args, kwargs]`` encoded with the transport (tagged JSON by
default), the same way a workflow's decider reads them.  Everything left as ``None``
falls back to the defaults registered with the workflow type.

:func:`flowy.swf.status.wait_for_result` waits for the outcome of a started execution;
:meth:`~SWFWorkflowStarter.signal`, :meth:`~SWFWorkflowStarter.cancel` and
:meth:`~SWFWorkflowStarter.terminate` reach it while it runs
(:class:`flowy.swf.control.SWFExecutions`).
"""

import uuid

from ..config import WORKFLOW, check_transport, encode_arguments
from ..errors import FlowyError
from .client import error_code, error_message
from .names import MAX_ID_LENGTH
from .payload import encode_field
from .types import (
    MAX_WORKFLOW_DURATION,
    TaskType,
    check_child_policy,
    check_duration,
    check_name,
)

__all__ = ['SWFWorkflowStarter', 'StartError', 'WorkflowAlreadyStarted', 'MAX_TAGS']

MAX_TAGS = 5  # SWF keeps at most 5 tags per execution
MAX_TAG_LENGTH = 256
MIN_PRIORITY = -2147483648
MAX_PRIORITY = 2147483647


class StartError(FlowyError):
    """SWF refused to start a workflow execution (the message says why)."""


class WorkflowAlreadyStarted(StartError):
    """An execution with the same workflow id is open already in the domain."""

    def __init__(self, message, workflow_id=None):
        super().__init__(message)
        self.workflow_id = workflow_id


def _tags(tags):
    """The tags as a list in their given order (duplicates dropped), at most 5."""
    if tags is None:
        return None
    if isinstance(tags, (str, bytes)):
        raise TypeError('tags must be a list of strings, not a single string; got %r'
                        % (tags,))
    kept = []
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise ValueError('each tag must be a non-empty string; got %r' % (tag,))
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError('a tag may have at most %d characters; got one of %d'
                             % (MAX_TAG_LENGTH, len(tag)))
        if tag not in kept:
            kept.append(tag)
    if len(kept) > MAX_TAGS:
        raise ValueError('SWF allows at most %d tags on an execution; got %d: %s'
                         % (MAX_TAGS, len(kept), ', '.join(map(repr, kept))))
    return kept or None


def _priority(priority):
    if priority is None:
        return None
    try:
        number = int(priority)
    except (TypeError, ValueError):
        number = None
    if (number is None or isinstance(priority, (bool, float))
            or not MIN_PRIORITY <= number <= MAX_PRIORITY):
        raise ValueError('priority must be a whole number from %d to %d; got %r'
                         % (MIN_PRIORITY, MAX_PRIORITY, priority))
    return str(number)


def _lambda_role(role):
    if role is None:
        return None
    if not isinstance(role, str) or not role:
        raise ValueError('lambda_role must be the ARN of an IAM role; got %r' % (role,))
    return role


class SWFWorkflowStarter:
    """Start executions of the workflow type ``name`` ``version`` in ``domain``.

    Call it with the workflow's arguments (``starter(*args, **kwargs)``) to start a new
    execution; it returns the run id (:meth:`start` returns the workflow id too).

    ``swf_client``: an :class:`~flowy.swf.client.SWFClient`, a boto3 SWF client, or None
    for a new one configured by the environment.  ``task_list``: where the decision tasks
    go.  ``task_duration``: how long the decider may take over one decision task
    (``taskStartToCloseTimeout``: seconds or 'NONE').  ``workflow_duration``: how long
    the whole execution may run (``executionStartToCloseTimeout``: seconds, at most a
    year).  ``wid``: the workflow id (default: a new uuid4 for each execution; SWF
    refuses a second open execution with the same id).  ``tags``: up to 5 strings, kept
    in order.  ``child_policy``: TERMINATE, REQUEST_CANCEL or ABANDON.  ``priority``:
    the decision tasks' priority (an int).  ``lambda_role``: the IAM role for Lambda
    tasks.  ``transport`` encodes the input (tagged JSON by default; it must be the one
    the workflow uses).  ``payload_store`` sends an input over 32,768 characters by
    reference (:mod:`flowy.swf.payload`); without one such an input is refused.
    """

    def __init__(self, domain, name, version, swf_client=None, task_list=None,
                 task_duration=None, workflow_duration=None, wid=None, tags=None,
                 child_policy=None, priority=None, lambda_role=None, transport=None,
                 payload_store=None):
        checked = TaskType(WORKFLOW, name, version, task_list=task_list)
        self.domain = check_name('domain', domain, MAX_ID_LENGTH)
        self.name = checked.name
        self.version = checked.version
        self.task_list = checked.task_list
        self.task_duration = check_duration('task_duration', task_duration)
        self.workflow_duration = check_duration('workflow_duration', workflow_duration,
                                           allow_none=False, maximum=MAX_WORKFLOW_DURATION)
        self.child_policy = check_child_policy(child_policy)
        self.wid = None if wid is None else check_name('workflow id', wid, MAX_ID_LENGTH)
        self.tags = _tags(tags)
        self.priority = _priority(priority)
        self.lambda_role = _lambda_role(lambda_role)
        self.transport = check_transport(transport)
        self.payload_store = payload_store
        self._swf_client = swf_client
        self._client = None

    def __repr__(self):
        return '<SWFWorkflowStarter %s %s in %s>' % (self.name, self.version, self.domain)

    @property
    def client(self):
        """The :class:`~flowy.swf.client.SWFClient` the starter uses (made on first use)."""
        if self._client is None:
            from .worker import as_client

            self._client = as_client(self._swf_client)
        return self._client

    def encode_input(self, *args, **kwargs):
        """The ``input`` field an execution with ``args`` and ``kwargs`` gets (checked for
        size); an argument that cannot be encoded is named (``argument 2 of start()``)."""
        text = encode_arguments(self.transport, args, kwargs, 'start()')
        return encode_field(text, 'the input of the workflow %s version %s'
                            % (self.name, self.version), self.payload_store)

    def __call__(self, *args, **kwargs):
        """Start an execution with ``args`` and ``kwargs``; return its run id."""
        return self.start(*args, **kwargs)[1]

    def start(self, *args, **kwargs):
        """Start an execution with ``args`` and ``kwargs``; return ``(workflow_id, run_id)``.

        An argument that cannot be encoded raises ``TypeError`` or ``ValueError`` naming
        it, before anything is sent to SWF.
        """
        data = self.encode_input(*args, **kwargs)
        workflow_id = self.wid if self.wid is not None else str(uuid.uuid4())
        try:
            response = self.client.start_workflow_execution(
                self.domain, workflow_id, self.name, self.version, input=data,
                task_list=self.task_list, priority=self.priority,
                workflow_duration=self.workflow_duration,
                decision_duration=self.task_duration, tags=self.tags,
                child_policy=self.child_policy, lambda_role=self.lambda_role)
        except Exception as exc:
            error = self._start_error(exc, workflow_id)
            if error is None:
                raise
            raise error from exc
        return workflow_id, response['runId']

    @property
    def executions(self):
        """A :class:`~flowy.swf.control.SWFExecutions` with this starter's domain, client,
        transport and payload store."""
        from .control import SWFExecutions

        return SWFExecutions(self.domain, self.client, self.transport, self.payload_store)

    def signal(self, workflow_id, name, value=None, run_id=None):
        """Send signal ``name`` carrying ``value`` to the execution ``workflow_id`` (its
        latest run, or ``run_id``; see :meth:`flowy.swf.control.SWFExecutions.signal`)."""
        self.executions.signal(workflow_id, name, value, run_id=run_id)

    def cancel(self, workflow_id, run_id=None):
        """Ask the execution ``workflow_id`` (its latest run, or ``run_id``) to cancel
        (RequestCancelWorkflowExecution)."""
        self.executions.cancel(workflow_id, run_id=run_id)

    def terminate(self, workflow_id, run_id=None, reason=None, details=None):
        """End the execution ``workflow_id`` (its latest run, or ``run_id``) at once
        (TerminateWorkflowExecution), with ``reason`` and ``details`` recorded."""
        self.executions.terminate(workflow_id, run_id=run_id, reason=reason, details=details)

    def _start_error(self, exc, workflow_id):
        code = error_code(exc)
        what = 'the workflow %s version %s' % (self.name, self.version)
        if code == 'WorkflowExecutionAlreadyStartedFault':
            return WorkflowAlreadyStarted(
                'cannot start %s: an execution with the workflow id %r is already open in '
                'the domain %s; wait for it to close, or use another workflow id'
                % (what, workflow_id, self.domain), workflow_id)
        if code == 'UnknownResourceFault':
            return StartError(
                'cannot start %s in the domain %s: SWF does not know the domain or the '
                'workflow type (start a decider for it once, which registers it): %s'
                % (what, self.domain, error_message(exc)))
        if code == 'TypeDeprecatedFault':
            return StartError('cannot start %s: the type is deprecated on SWF' % what)
        if code == 'DefaultUndefinedFault':
            return StartError(
                'cannot start %s: SWF needs a value it has no default for (%s): the type was '
                'registered without it, so give it when starting (task_list, task_duration, '
                'workflow_duration, child_policy)' % (what, error_message(exc)))
        if code is not None:
            return StartError('cannot start %s in the domain %s: %s: %s'
                              % (what, self.domain, code, error_message(exc)))
        return None  # not an answer of SWF (network, credentials): raised as it is

