"""A thin wrapper over boto3's SWF client: the calls flowy makes, without ``None`` noise.

:class:`SWFClient` builds a boto3 client on first use (``import boto3`` happens then,
not when flowy is imported) or wraps one given to it.  Every method takes Python-style
keyword arguments, drops the ones left as ``None`` and calls boto3 with SWF's names, so
the rest of the engine never spells out request dicts.  Anything with the same methods
can stand in for it in tests.

The endpoint comes from boto3's usual configuration: ``AWS_ENDPOINT_URL_SWF`` (or
``AWS_ENDPOINT_URL``) points it at a local moto server; ``kwargs={'endpoint_url': ...}``
does the same explicitly.
"""

import json

from ..errors import exception_text

__all__ = ['SWFClient', 'error_code', 'error_message', 'POLL_READ_TIMEOUT']

# SWF holds a long poll open for up to 60 seconds: the socket must wait longer than that.
POLL_READ_TIMEOUT = 70


def _error(exc):
    response = getattr(exc, 'response', None)
    return (response.get('Error') or {}) if isinstance(response, dict) else {}


def error_code(exc):
    """The AWS error code of a botocore ``ClientError`` (``'UnknownResourceFault'``), or None."""
    return _error(exc).get('Code')


def error_message(exc):
    """The message AWS gave with a botocore ``ClientError``, else what ``exc`` says."""
    return _error(exc).get('Message') or exception_text(exc)


def _as_sent(value):
    return value


#: The responses that carry history events (what a decider reads most).
HISTORY_OPERATIONS = ('PollForDecisionTask', 'GetWorkflowExecutionHistory')


def _parse_as_json(response_dict, customized_response_dict, **_):
    """botocore's ``before-parse`` hook: read a successful body with ``json.loads``.

    botocore's parser walks the service model for every value, about 20 us an event on a
    2-core machine; ``json.loads`` reads the same JSON in a tenth of that.  The body
    left to botocore is empty, so it adds the response metadata only.  Errors (status
    300 and up) are left to botocore.
    """
    body = response_dict.get('body')
    if response_dict.get('status_code') == 200 and body:
        customized_response_dict.update(json.loads(body))
        response_dict['body'] = b'{}'


def _task_list(name):
    return None if name is None else {'name': name}


def _drop_none(values):
    return {name: value for name, value in values.items() if value is not None}


class SWFClient:
    """The SWF API calls flowy uses, over a boto3 client.

    ``client``: a boto3 SWF client to use as it is (for a custom endpoint, a session or
    a stub).  Otherwise one is created with ``boto3.client('swf', config=config,
    **kwargs)``; the default ``config`` waits 70 s for a response, longer than SWF's
    60 s long polls.  ``parse_timestamps=False`` leaves timestamps as the numbers SWF
    sends instead of ``datetime`` objects: a decider, which reads many history events
    and none of their times, parses them in about half the time.  ``json_histories=True``
    reads the responses that carry history events (PollForDecisionTask and
    GetWorkflowExecutionHistory) with ``json.loads`` instead of botocore's parser: the
    same dicts (timestamps as sent), about ten times faster.  ``validate=False`` skips
    botocore's check of each request against SWF's model (SWF checks them too); with a
    ``config`` of your own, its ``parameter_validation`` decides.

    Each other method is one SWF action, named as boto3 names it
    (``start_workflow_execution`` is StartWorkflowExecution), and takes that action's
    parameters in snake case, flattened: ``domain``, ``workflow_id``, ``run_id``,
    ``name`` and ``version`` (of a type), ``task_list`` (a name), ``task_token``,
    ``identity``, ``input``, ``result``, ``reason``, ``details``; durations
    (``heartbeat``, ``schedule_to_close``, ``schedule_to_start``, ``start_to_close``,
    ``workflow_duration``, ``decision_duration``) in seconds or ``'NONE'``, as SWF's
    ``...Timeout`` fields; ``child_policy`` (TERMINATE, REQUEST_CANCEL or ABANDON),
    ``tags``, ``priority``, ``lambda_role``, ``description``, ``retention_days`` (a
    domain's ``workflowExecutionRetentionPeriodInDays``); paging with
    ``next_page_token``, ``max_page_size`` and ``reverse_order``.  None leaves a field
    out.  It returns boto3's response, and raises boto3's errors.
    """

    def __init__(self, client=None, config=None, kwargs=None, parse_timestamps=True,
                 json_histories=False, validate=True):
        self._client = client
        self._config = config
        self._kwargs = dict(kwargs or {})
        self._parse_timestamps = parse_timestamps
        self._json_histories = json_histories
        self._validate = validate

    @property
    def client(self):
        """The boto3 client (created on first use)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = self._config
            if config is None:
                config = Config(connect_timeout=10, read_timeout=POLL_READ_TIMEOUT,
                                retries={'mode': 'standard'},
                                parameter_validation=self._validate)
            session = None
            if not self._parse_timestamps:
                import botocore.session

                raw = botocore.session.get_session()
                raw.get_component('response_parser_factory').set_parser_defaults(
                    timestamp_parser=_as_sent)
                session = boto3.session.Session(botocore_session=raw)
            make = boto3.client if session is None else session.client
            client = make('swf', config=config, **self._kwargs)
            if self._json_histories:
                for operation in HISTORY_OPERATIONS:
                    client.meta.events.register('before-parse.swf.%s' % operation,
                                                _parse_as_json)
            self._client = client
        return self._client

    def __repr__(self):
        return '<SWFClient %r>' % (self._client or 'not connected yet')

    def _call(self, operation, **values):
        return getattr(self.client, operation)(**_drop_none(values))

    # -- types and domains ----------------------------------------------------------------

    def register_domain(self, name, retention_days=1, description=None):
        return self._call('register_domain', name=name, description=description,
                          workflowExecutionRetentionPeriodInDays=str(retention_days))

    def register_activity_type(self, domain, name, version, task_list=None, heartbeat=None,
                               schedule_to_close=None, schedule_to_start=None,
                               start_to_close=None, description=None):
        return self._call(
            'register_activity_type', domain=domain, name=name, version=version,
            description=description, defaultTaskList=_task_list(task_list),
            defaultTaskHeartbeatTimeout=heartbeat,
            defaultTaskScheduleToCloseTimeout=schedule_to_close,
            defaultTaskScheduleToStartTimeout=schedule_to_start,
            defaultTaskStartToCloseTimeout=start_to_close)

    def register_workflow_type(self, domain, name, version, task_list=None,
                               workflow_duration=None, decision_duration=None,
                               child_policy=None, description=None):
        return self._call(
            'register_workflow_type', domain=domain, name=name, version=version,
            description=description, defaultTaskList=_task_list(task_list),
            defaultExecutionStartToCloseTimeout=workflow_duration,
            defaultTaskStartToCloseTimeout=decision_duration,
            defaultChildPolicy=child_policy)

    def describe_activity_type(self, domain, name, version):
        return self._call('describe_activity_type', domain=domain,
                          activityType={'name': name, 'version': version})

    def describe_workflow_type(self, domain, name, version):
        return self._call('describe_workflow_type', domain=domain,
                          workflowType={'name': name, 'version': version})

    # -- executions -------------------------------------------------------------------------

    def start_workflow_execution(self, domain, workflow_id, name, version, input=None,
                                 task_list=None, priority=None, workflow_duration=None,
                                 decision_duration=None, tags=None, child_policy=None,
                                 lambda_role=None):
        return self._call(
            'start_workflow_execution', domain=domain, workflowId=workflow_id,
            workflowType={'name': name, 'version': version}, input=input,
            taskList=_task_list(task_list), taskPriority=priority,
            executionStartToCloseTimeout=workflow_duration,
            taskStartToCloseTimeout=decision_duration,
            tagList=list(tags) if tags else None, childPolicy=child_policy,
            lambdaRole=lambda_role)

    def describe_workflow_execution(self, domain, workflow_id, run_id):
        return self._call('describe_workflow_execution', domain=domain,
                          execution={'workflowId': workflow_id, 'runId': run_id})

    def get_workflow_execution_history(self, domain, workflow_id, run_id,
                                       next_page_token=None, max_page_size=None,
                                       reverse_order=False):
        return self._call('get_workflow_execution_history', domain=domain,
                          execution={'workflowId': workflow_id, 'runId': run_id},
                          nextPageToken=next_page_token, maximumPageSize=max_page_size,
                          reverseOrder=reverse_order)

    def terminate_workflow_execution(self, domain, workflow_id, run_id=None, reason=None,
                                     details=None, child_policy=None):
        return self._call('terminate_workflow_execution', domain=domain,
                          workflowId=workflow_id, runId=run_id, reason=reason,
                          details=details, childPolicy=child_policy)

    def signal_workflow_execution(self, domain, workflow_id, signal_name, input=None,
                                  run_id=None):
        return self._call('signal_workflow_execution', domain=domain, workflowId=workflow_id,
                          signalName=signal_name, input=input, runId=run_id)

    def request_cancel_workflow_execution(self, domain, workflow_id, run_id=None):
        return self._call('request_cancel_workflow_execution', domain=domain,
                          workflowId=workflow_id, runId=run_id)

    # -- decision tasks ---------------------------------------------------------------------

    def poll_for_decision_task(self, domain, task_list, identity=None, next_page_token=None,
                               max_page_size=None, reverse_order=False):
        return self._call('poll_for_decision_task', domain=domain,
                          taskList=_task_list(task_list), identity=identity,
                          nextPageToken=next_page_token, maximumPageSize=max_page_size,
                          reverseOrder=reverse_order)

    def respond_decision_task_completed(self, task_token, decisions=None,
                                        execution_context=None):
        return self._call('respond_decision_task_completed', taskToken=task_token,
                          decisions=decisions, executionContext=execution_context)

    # -- activity tasks ---------------------------------------------------------------------

    def poll_for_activity_task(self, domain, task_list, identity=None):
        return self._call('poll_for_activity_task', domain=domain,
                          taskList=_task_list(task_list), identity=identity)

    def record_activity_task_heartbeat(self, task_token, details=None):
        return self._call('record_activity_task_heartbeat', taskToken=task_token,
                          details=details)

    def respond_activity_task_completed(self, task_token, result=None):
        return self._call('respond_activity_task_completed', taskToken=task_token,
                          result=result)

    def respond_activity_task_failed(self, task_token, reason=None, details=None):
        return self._call('respond_activity_task_failed', taskToken=task_token,
                          reason=reason, details=details)

    def respond_activity_task_canceled(self, task_token, details=None):
        return self._call('respond_activity_task_canceled', taskToken=task_token,
                          details=details)
