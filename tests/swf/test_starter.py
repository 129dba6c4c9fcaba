"""SWFWorkflowStarter and the status helpers against in-process moto (``swf_client``).

What SWF received is read back from describe_workflow_execution and the
WorkflowExecutionStarted event, so a crossed duration, a lost tag order or a misspelt
key (the original flowy's bugs) would show.
"""

import threading
import time
import uuid

import pytest

from flowy import TaskError, TaskTimedout
from flowy.serialization import dumps, loads
from flowy.swf.client import SWFClient
from flowy.swf.payload import REFERENCE_PREFIX, InMemoryPayloadStore, PayloadTooLarge
from flowy.swf.starter import StartError, SWFWorkflowStarter, WorkflowAlreadyStarted
from flowy.swf.status import (
    UnknownExecution,
    describe_execution,
    latest_run_id,
    wait_for_result,
)

DOMAIN = 'starter-tests'
TASK_LIST = 'decisions'


@pytest.fixture
def client(swf_client):
    swf_client.register_domain(name=DOMAIN, workflowExecutionRetentionPeriodInDays='1')
    swf_client.register_workflow_type(
        domain=DOMAIN, name='Flow', version='1', defaultTaskList={'name': TASK_LIST},
        defaultExecutionStartToCloseTimeout='3600', defaultTaskStartToCloseTimeout='60',
        defaultChildPolicy='TERMINATE')
    swf_client.register_workflow_type(domain=DOMAIN, name='Bare', version='1')
    return swf_client


def starter(client, **options):
    return SWFWorkflowStarter(DOMAIN, 'Flow', '1', swf_client=client, **options)


def described(client, workflow_id, run_id):
    return client.describe_workflow_execution(
        domain=DOMAIN, execution={'workflowId': workflow_id, 'runId': run_id})


def started_event(client, workflow_id, run_id):
    events = client.get_workflow_execution_history(
        domain=DOMAIN, execution={'workflowId': workflow_id, 'runId': run_id})['events']
    assert events[0]['eventType'] == 'WorkflowExecutionStarted'
    return events[0]['workflowExecutionStartedEventAttributes']


def decide(client, decision_type, task_list=TASK_LIST, **attributes):
    """Take the next decision task and answer it with one decision."""
    task = client.poll_for_decision_task(domain=DOMAIN, taskList={'name': task_list})
    assert task.get('taskToken'), 'no decision task'
    key = decision_type[0].lower() + decision_type[1:] + 'DecisionAttributes'
    client.respond_decision_task_completed(
        taskToken=task['taskToken'],
        decisions=[{'decisionType': decision_type, key: attributes}])
    return task


def complete(client, result, task_list=TASK_LIST):
    return decide(client, 'CompleteWorkflowExecution', task_list, result=dumps(result))


# -- the starter ---------------------------------------------------------------------------


def test_input_is_args_and_kwargs_in_tagged_json(client):
    workflow_id, run_id = starter(client).start(1, 'two', (3, 4), key={5, 6}, none=None)
    data = started_event(client, workflow_id, run_id)['input']
    assert loads(data) == [[1, 'two', (3, 4)], {'key': {5, 6}, 'none': None}]


def test_an_argument_that_cannot_be_encoded_is_named_and_nothing_starts(client):
    start = starter(client)
    with pytest.raises(TypeError) as info:
        start.start(1, [2, object()])
    assert str(info.value).startswith('argument 2 of start(): cannot serialize an object at '
                                      '[1]: ')
    with pytest.raises(TypeError, match="^keyword argument 'x' of start\\(\\): cannot "
                                        "serialize an object: "):
        start(x=object())
    runs = client.list_open_workflow_executions(
        domain=DOMAIN, startTimeFilter={'oldestDate': 0})['executionInfos']
    assert runs == []


def test_call_returns_the_run_id_of_a_new_execution(client):
    start = starter(client)
    first, second = start(1), start(2)
    assert first != second
    runs = client.list_open_workflow_executions(
        domain=DOMAIN, startTimeFilter={'oldestDate': 0})['executionInfos']
    assert sorted(info['execution']['runId'] for info in runs) == sorted([first, second])


def test_a_custom_transport_encodes_the_input(client):
    class Upper:
        def dumps(self, value):
            return repr(value).upper()

        def loads(self, text):
            raise AssertionError('not used by the starter')

    workflow_id, run_id = starter(client, transport=Upper()).start('a', b='c')
    assert started_event(client, workflow_id, run_id)['input'] == "[['A'], {'B': 'C'}]"


def test_durations_are_not_crossed(client):
    workflow_id, run_id = starter(client, task_duration=45,
                                  workflow_duration=900).start()
    configuration = described(client, workflow_id, run_id)['executionConfiguration']
    assert configuration['taskStartToCloseTimeout'] == '45'
    assert configuration['executionStartToCloseTimeout'] == '900'
    started = started_event(client, workflow_id, run_id)
    assert started['taskStartToCloseTimeout'] == '45'
    assert started['executionStartToCloseTimeout'] == '900'


def test_options_left_out_take_the_type_defaults(client):
    workflow_id, run_id = starter(client).start()
    configuration = described(client, workflow_id, run_id)['executionConfiguration']
    assert configuration['taskStartToCloseTimeout'] == '60'
    assert configuration['executionStartToCloseTimeout'] == '3600'
    assert configuration['taskList'] == {'name': TASK_LIST}
    assert configuration['childPolicy'] == 'TERMINATE'


def test_task_list_and_child_policy_are_sent(client):
    workflow_id, run_id = starter(client, task_list='elsewhere',
                                  child_policy='abandon').start()
    configuration = described(client, workflow_id, run_id)['executionConfiguration']
    assert configuration['taskList'] == {'name': 'elsewhere'}
    assert configuration['childPolicy'] == 'ABANDON'


@pytest.mark.parametrize('options', [
    {'task_duration': 0}, {'task_duration': -5}, {'task_duration': 1.5},
    {'task_duration': '30'}, {'workflow_duration': 'NONE'},
    {'workflow_duration': 366 * 24 * 3600}, {'workflow_duration': 0},
    {'child_policy': 'KILL'}, {'priority': 'high'}, {'priority': 2 ** 31},
    {'wid': ''}, {'wid': 'a:b'}, {'wid': 'x' * 257}, {'task_list': 'a/b'},
    {'lambda_role': ''},
])
def test_invalid_options_are_refused_before_anything_is_sent(options):
    with pytest.raises(ValueError):
        SWFWorkflowStarter(DOMAIN, 'Flow', '1', swf_client=object(), **options)


def test_invalid_names_are_refused():
    for name, version in (('', '1'), ('a|b', '1'), ('Flow', ''), ('Flow', 'x' * 65)):
        with pytest.raises(ValueError):
            SWFWorkflowStarter(DOMAIN, name, version, swf_client=object())
    with pytest.raises(ValueError):
        SWFWorkflowStarter('bad:domain', 'Flow', '1', swf_client=object())


def test_a_bad_transport_is_refused():
    with pytest.raises(TypeError, match='dumps'):
        SWFWorkflowStarter(DOMAIN, 'Flow', '1', transport=object())


def test_task_duration_may_be_none_meaning_no_limit():
    start = SWFWorkflowStarter(DOMAIN, 'Flow', '1', swf_client=object(), task_duration='none')
    assert start.task_duration == 'NONE'


def test_tags_keep_their_order(client):
    tags = ['zeta', 'alpha', 'mu', 'beta', 'alpha', 'omega']  # the repeated one is dropped
    workflow_id, run_id = starter(client, tags=tags).start()
    expected = ['zeta', 'alpha', 'mu', 'beta', 'omega']
    assert described(client, workflow_id, run_id)['executionInfo']['tagList'] == expected
    assert started_event(client, workflow_id, run_id)['tagList'] == expected


def test_more_than_five_tags_are_refused_not_cut():
    with pytest.raises(ValueError, match='at most 5 tags.*got 6'):
        SWFWorkflowStarter(DOMAIN, 'Flow', '1', tags=list('abcdef'))


@pytest.mark.parametrize('tags, error', [
    ('single', TypeError), ([''], ValueError), ([1], ValueError), (['x' * 257], ValueError),
])
def test_bad_tags_are_refused(tags, error):
    with pytest.raises(error):
        SWFWorkflowStarter(DOMAIN, 'Flow', '1', tags=tags)


def capture(client, operation):
    """The parameters of every ``operation`` request the boto3 client sends."""
    sent = []

    def remember(params, **kwargs):
        sent.append(dict(params))

    client.meta.events.register('provide-client-params.swf.%s' % operation, remember)
    return sent


def test_lambda_role_and_priority_use_swf_keys(client):
    sent = capture(client, 'StartWorkflowExecution')
    role = 'arn:aws:iam::123456789012:role/flowy-lambda'
    starter(client, lambda_role=role, priority=-3).start()
    (params,) = sent
    assert params['lambdaRole'] == role
    assert params['taskPriority'] == '-3'
    assert 'lambda_role' not in params


def test_no_none_values_are_sent(client):
    sent = capture(client, 'StartWorkflowExecution')
    starter(client).start()
    (params,) = sent
    assert set(params) == {'domain', 'workflowId', 'workflowType', 'input'}
    assert params['workflowType'] == {'name': 'Flow', 'version': '1'}


def test_the_workflow_id_is_wid_or_a_new_uuid_each_time(client):
    workflow_id, run_id = starter(client, wid='my-workflow').start()
    assert workflow_id == 'my-workflow'
    assert described(client, workflow_id, run_id)['executionInfo']['execution'] == {
        'workflowId': 'my-workflow', 'runId': run_id}
    start = starter(client)
    first, second = start.start()[0], start.start()[0]
    assert first != second
    assert str(uuid.UUID(first)) == first and str(uuid.UUID(second)) == second


def test_an_open_workflow_id_cannot_start_again(client):
    start = starter(client, wid='only-once')
    start()
    with pytest.raises(WorkflowAlreadyStarted, match="'only-once'") as caught:
        start()
    assert caught.value.workflow_id == 'only-once'
    assert isinstance(caught.value, StartError)


def test_a_closed_workflow_id_can_start_again(client):
    start = starter(client, wid='again')
    first = start()
    complete(client, 1)
    assert start() != first


def test_an_input_too_large_names_its_size(client):
    sent = capture(client, 'StartWorkflowExecution')
    with pytest.raises(PayloadTooLarge, match=r'input of the workflow Flow.* 40\d\d\d '
                                              r'characters; SWF allows 32768'):
        starter(client).start('x' * 40000)
    assert sent == []


def test_an_input_at_the_limit_is_sent(client):
    text = 'x' * (32768 - len(dumps([[''], {}])))
    workflow_id, run_id = starter(client).start(text)
    assert len(started_event(client, workflow_id, run_id)['input']) == 32768


def test_a_large_input_travels_through_the_payload_store(client):
    store = InMemoryPayloadStore()
    workflow_id, run_id = starter(client, payload_store=store).start('x' * 40000)
    data = started_event(client, workflow_id, run_id)['input']
    assert data.startswith(REFERENCE_PREFIX)
    assert loads(store.get(data)) == [['x' * 40000], {}]


def test_an_unknown_type_or_domain_is_a_clear_error(client):
    with pytest.raises(StartError, match='Nope version 1 in the domain starter-tests.*'
                                         'start a decider'):
        SWFWorkflowStarter(DOMAIN, 'Nope', '1', swf_client=client)()
    with pytest.raises(StartError, match='domain elsewhere'):
        SWFWorkflowStarter('elsewhere', 'Flow', '1', swf_client=client)()


def test_a_missing_default_is_a_clear_error(client):
    with pytest.raises(StartError, match='no default for .*give it when starting'):
        SWFWorkflowStarter(DOMAIN, 'Bare', '1', swf_client=client, task_list='t')()


def test_the_starter_takes_an_swfclient(client):
    start = SWFWorkflowStarter(DOMAIN, 'Flow', '1', swf_client=SWFClient(client=client))
    workflow_id, run_id = start.start(7)
    assert loads(started_event(client, workflow_id, run_id)['input']) == [[7], {}]
    assert 'Flow 1' in repr(start)


# -- the status helpers --------------------------------------------------------------------


def test_an_open_execution(client):
    workflow_id, run_id = starter(client, tags=['t']).start()
    status = describe_execution(client, DOMAIN, workflow_id)
    assert (status.workflow_id, status.run_id) == (workflow_id, run_id)
    assert status.open and status.status == 'OPEN' and status.close_status is None
    assert status.workflow_type == ('Flow', '1')
    assert status.start_time is not None and status.close_time is None
    assert status.result is None and status.error() is None
    with pytest.raises(ValueError, match='still open'):
        status.outcome()


def test_a_completed_execution_has_its_result_decoded(client):
    workflow_id, run_id = starter(client).start()
    complete(client, {'total': (1, 2), 'set': {3}})
    status = describe_execution(client, DOMAIN, workflow_id, run_id)
    assert status.status == 'CLOSED' and status.close_status == 'COMPLETED'
    assert status.completed and status.close_time is not None
    assert status.result == {'total': (1, 2), 'set': {3}}
    assert status.to_dict()['result'] == {'total': (1, 2), 'set': {3}}
    assert status.to_dict()['workflow_type'] == {'name': 'Flow', 'version': '1'}
    assert wait_for_result(client, DOMAIN, workflow_id, timeout=5) == {'total': (1, 2),
                                                                        'set': {3}}


def test_a_result_by_reference_is_read_from_the_store(client):
    store = InMemoryPayloadStore()
    workflow_id, _ = starter(client).start()
    decide(client, 'CompleteWorkflowExecution', result=store.put(dumps('y' * 50000)))
    assert wait_for_result(client, DOMAIN, workflow_id, timeout=5,
                           payload_store=store) == 'y' * 50000


def test_a_failed_execution_raises_its_full_reason(client):
    workflow_id, _ = starter(client).start()
    reason = 'the activity square-3-0 failed: ' + 'x' * 400
    decide(client, 'FailWorkflowExecution', reason=reason[:256], details=reason)
    status = describe_execution(client, DOMAIN, workflow_id)
    assert status.close_status == 'FAILED'
    assert status.reason == reason
    with pytest.raises(TaskError) as caught:
        wait_for_result(client, DOMAIN, workflow_id, timeout=5)
    assert str(caught.value) == reason
    assert not isinstance(caught.value, TaskTimedout)


def test_a_terminated_execution_raises(client):
    workflow_id, run_id = starter(client).start()
    client.terminate_workflow_execution(domain=DOMAIN, workflowId=workflow_id,
                                        reason='stopped by hand')
    status = describe_execution(client, DOMAIN, workflow_id)
    assert status.close_status == 'TERMINATED'
    with pytest.raises(TaskError, match='terminated: stopped by hand'):
        wait_for_result(client, DOMAIN, workflow_id, run_id, timeout=5)


def test_a_timed_out_execution_raises_task_timedout(client, swf_clock):
    workflow_id, _ = starter(client, workflow_duration=10).start()
    swf_clock(11)
    with pytest.raises(TaskTimedout, match='timed out \\(START_TO_CLOSE\\)'):
        wait_for_result(client, DOMAIN, workflow_id, timeout=5)


def test_wait_polls_until_the_execution_closes(client):
    workflow_id, _ = starter(client).start()
    closer = threading.Timer(0.3, complete, (client, 42))
    closer.start()
    try:
        began = time.monotonic()
        assert wait_for_result(client, DOMAIN, workflow_id, timeout=10,
                               poll_interval=0.05) == 42
        assert time.monotonic() - began >= 0.25
    finally:
        closer.join(5)


def test_wait_is_bounded_by_its_timeout(client):
    workflow_id, run_id = starter(client).start()
    began = time.monotonic()
    with pytest.raises(TimeoutError, match='%s \\(run %s\\).*still open after 0.3 s'
                                           % (workflow_id, run_id)):
        wait_for_result(client, DOMAIN, workflow_id, timeout=0.3, poll_interval=0.05)
    assert time.monotonic() - began < 3


@pytest.mark.parametrize('options', [{'timeout': -1}, {'poll_interval': 0}])
def test_wait_refuses_bad_bounds(options):
    with pytest.raises(ValueError):
        wait_for_result(object(), DOMAIN, 'x', **options)


def test_continue_as_new_is_followed_to_the_newest_run(client):
    workflow_id, first_run = starter(client).start(1)
    decide(client, 'ContinueAsNewWorkflowExecution', input=dumps([[2], {}]))
    second_run = latest_run_id(client, DOMAIN, workflow_id)
    assert second_run != first_run
    status = describe_execution(client, DOMAIN, workflow_id, first_run)
    assert status.open and status.run_id == second_run
    assert status.runs == [first_run, second_run]
    complete(client, 'done')
    status = describe_execution(client, DOMAIN, workflow_id, first_run)
    assert status.completed and status.result == 'done'
    assert status.runs == [first_run, second_run]
    assert wait_for_result(client, DOMAIN, workflow_id, first_run, timeout=5) == 'done'


def test_no_run_id_means_the_latest_run(client):
    start = starter(client, wid='reused')
    first = start()
    complete(client, 'first')
    second = start()
    assert latest_run_id(client, DOMAIN, 'reused') == second
    assert describe_execution(client, DOMAIN, 'reused').run_id == second
    complete(client, 'second')
    assert latest_run_id(client, DOMAIN, 'reused') == second
    assert wait_for_result(client, DOMAIN, 'reused', timeout=5) == 'second'
    assert wait_for_result(client, DOMAIN, 'reused', first, timeout=5) == 'first'


def test_other_workflow_ids_are_not_mistaken_for_it(client):
    starter(client, wid='one')()
    starter(client, wid='two')()
    assert describe_execution(client, DOMAIN, 'one').workflow_id == 'one'
    with pytest.raises(UnknownExecution, match="'three'"):
        describe_execution(client, DOMAIN, 'three')


def test_unknown_runs_and_domains(client):
    with pytest.raises(UnknownExecution, match='run nope'):
        describe_execution(client, DOMAIN, 'x', 'nope')
    with pytest.raises(UnknownExecution, match='domain nowhere'):
        describe_execution(client, 'nowhere', 'x')
