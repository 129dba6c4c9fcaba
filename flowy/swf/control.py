"""Reach running SWF workflow executions from code: signal, cancel, terminate.

::

    runs = SWFExecutions('my-domain')
    runs.signal(workflow_id, 'approve', {'by': 'ann'})  # wait_signal('approve') gets it
    runs.cancel(workflow_id)     # the body's calls are cancelled, the run ends cancelled
    runs.terminate(workflow_id, reason='stuck')   # the run ends at once

:class:`~flowy.swf.starter.SWFWorkflowStarter` has the same three methods, with its
domain, client, transport and payload store.  Without ``run_id``, SWF acts on the open
execution with that workflow id.  Errors are clear: :class:`UnknownExecution` when no
open execution has that id (it closed, or never was), ``TypeError`` for a value the
transport cannot encode, ``ValueError`` for a bad signal name, and
:class:`~flowy.swf.payload.PayloadTooLarge` for a value over SWF's 32,768 characters
without a payload store.
"""

from ..config import check_transport
from ..effects import check_signal_name
from ..errors import FlowyError, exception_text
from .client import error_code, error_message
from .names import MAX_ID_LENGTH
from .payload import MAX_REASON, encode_field
from .status import UnknownExecution as _Unknown
from .types import check_name

__all__ = ['SWFExecutions', 'ControlError', 'UnknownExecution']


class ControlError(FlowyError):
    """SWF refused a signal, cancel or terminate request (the message says why)."""


class UnknownExecution(ControlError, _Unknown):
    """No open execution has that workflow id (and run id) in the domain.

    A :class:`flowy.swf.status.UnknownExecution` too (a ``LookupError``), which the
    status look-ups raise.
    """


class SWFExecutions:
    """Signal, cancel and terminate executions of ``domain``.

    ``swf_client``: an :class:`~flowy.swf.client.SWFClient`, a boto3 SWF client, or None
    for one configured by the environment.  ``transport`` encodes signal values (tagged
    JSON by default: it must be the workflow's); ``payload_store`` sends values over
    SWF's limit by reference (the deciders must use the same store).
    """

    def __init__(self, domain, swf_client=None, transport=None, payload_store=None):
        self.domain = check_name('domain', domain, MAX_ID_LENGTH)
        self.transport = check_transport(transport)
        self.payload_store = payload_store
        self._swf_client = swf_client
        self._client = None

    def __repr__(self):
        return '<SWFExecutions in %s>' % self.domain

    @property
    def client(self):
        """The :class:`~flowy.swf.client.SWFClient` used (made on first use)."""
        if self._client is None:
            from .worker import as_client

            self._client = as_client(self._swf_client)
        return self._client

    def encode_signal(self, name, value=None):
        """The ``input`` of a signal ``name`` carrying ``value`` (checked; maybe stored)."""
        name = check_signal_name(name)
        try:
            text = self.transport.dumps(value)
        except Exception as exc:
            raise TypeError('cannot send %r as the value of signal %r: %s'
                            % (value, name, exception_text(exc))) from exc
        return encode_field(text, 'the value of signal %r' % name, self.payload_store)

    def signal(self, workflow_id, name, value=None, run_id=None):
        """Send signal ``name`` with ``value`` to the execution; ``wait_signal(name)``
        in its body receives the value."""
        workflow_id = _workflow_id(workflow_id)
        data = self.encode_signal(name, value)
        self._request('signal', (workflow_id, run_id), self.client.signal_workflow_execution,
                      self.domain, workflow_id, name, input=data, run_id=run_id)

    def cancel(self, workflow_id, run_id=None):
        """Ask the execution to cancel: its decider cancels what runs and closes it
        (``WorkflowExecutionCanceled``); a child run cancelled so is a
        :class:`flowy.TaskCancelled` to its parent."""
        workflow_id = _workflow_id(workflow_id)
        self._request('cancel', (workflow_id, run_id),
                      self.client.request_cancel_workflow_execution, self.domain, workflow_id,
                      run_id=run_id)

    def terminate(self, workflow_id, run_id=None, reason=None, details=None,
                  child_policy=None):
        """End the execution at once (``WorkflowExecutionTerminated``); nothing of its
        body runs again.  ``reason`` is cut to SWF's 256 characters."""
        workflow_id = _workflow_id(workflow_id)
        if reason is not None:
            reason = str(reason)[:MAX_REASON]
        self._request('terminate', (workflow_id, run_id),
                      self.client.terminate_workflow_execution, self.domain, workflow_id,
                      run_id=run_id, reason=reason, details=details, child_policy=child_policy)

    def _request(self, what, ids, method, *args, **kwargs):
        try:
            method(*args, **kwargs)
        except Exception as exc:
            code = error_code(exc)
            workflow_id, run_id = ids
            run = workflow_id if run_id is None else '%s (run %s)' % (workflow_id, run_id)
            if code == 'UnknownResourceFault':
                raise UnknownExecution(
                    'cannot %s %s: no open execution with that id in the domain %s (it has '
                    'closed, or never existed)' % (what, run, self.domain)) from exc
            if code is not None:
                raise ControlError('cannot %s %s in the domain %s: %s: %s'
                                   % (what, run, self.domain, code, error_message(exc))) from exc
            raise


def _workflow_id(workflow_id):
    return check_name('workflow id', workflow_id, MAX_ID_LENGTH)
