"""flowy.swf.payload: values too large for SWF go through a store, by reference.

The stores (in memory, and S3 under moto), encode_field/decode_field and their errors,
ExecutionHistory resolving references, to_swf storing what is too large, and to_swf
keeping each response under SWF's 1 MB request limit (the backlog).
"""

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from swf_events import EventLog, SimulatedSWF, packer_of, result_of, run_on_swf

from flowy import wait
from flowy.config import ACTIVITY, WORKFLOW, TaskSpec, WorkflowConfig
from flowy.decision import Decision, Finish, Restart, ScheduleCall
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.history import COMPLETED, FAILED
from flowy.swf.decisions import (
    CALL_LIMIT,
    MAX_DECISIONS,
    MAX_RESPONSE_BYTES,
    WAKE_UP_TIMER_PREFIX,
)
from flowy.swf.events import HistoryError
from flowy.swf.history import ExecutionHistory
from flowy.swf.packer import to_swf
from flowy.swf.payload import (
    MAX_DATA,
    MAX_REASON,
    REFERENCE_PREFIX,
    InMemoryPayloadStore,
    PayloadError,
    PayloadMissing,
    PayloadStore,
    PayloadTooLarge,
    S3PayloadStore,
    cut_reason,
    decode_field,
    encode_field,
    is_reference,
)
from flowy.swf.types import TaskType

SQUARE = TaskType('activity', 'square', '1')
SUB = TaskType('workflow', 'Sub', '2')
TYPES = {'square': SQUARE, 'sub': SUB}
BUCKET = 'flowy-payloads'


def attributes(swf_decision):
    kind = swf_decision['decisionType']
    return swf_decision[kind[0].lower() + kind[1:] + 'DecisionAttributes']


def call(key='square-0-0', position=0, input='[[2],{}]', delay=0):
    dep, number, attempt = key.rsplit('-', 2)
    return ScheduleCall(key, dep, int(number), int(attempt), position, input, delay=delay)


def execution_for(store=None, workflow_id='order-7', **start):
    log = EventLog()
    log.workflow_started(**start)
    log.decision_round()
    execution = ExecutionHistory(workflow_id, store=store)
    execution.feed(log.events)
    return execution, log


# -- the in-memory store -------------------------------------------------------------------


def test_in_memory_store_round_trip_and_idempotent_put():
    store = InMemoryPayloadStore()
    reference = store.put('x' * 50000)
    assert reference.startswith(REFERENCE_PREFIX + 'memory:') and len(reference) < 100
    assert store.put('x' * 50000) == reference and len(store.objects) == 1
    assert store.get(reference) == 'x' * 50000
    assert store.put('é🎉\x00') != reference
    assert store.get(store.put('é🎉\x00')) == 'é🎉\x00'
    assert isinstance(store, PayloadStore) and store.threshold == MAX_DATA


def test_in_memory_store_errors_name_the_reference():
    store = InMemoryPayloadStore()
    missing = REFERENCE_PREFIX + 'memory:' + '0' * 64
    with pytest.raises(PayloadMissing, match=missing):
        store.get(missing)
    with pytest.raises(PayloadError, match='another store') as caught:
        store.get(REFERENCE_PREFIX + 's3://bucket/flowy/' + '0' * 64)
    assert type(caught.value) is PayloadError  # a configuration to fix, not lost data
    with pytest.raises(TypeError):
        store.put(b'bytes')


@pytest.mark.parametrize('threshold', [-1, MAX_DATA + 1, 1.5, '10', True])
def test_threshold_is_checked(threshold):
    with pytest.raises(ValueError, match='threshold'):
        InMemoryPayloadStore(threshold=threshold)


# -- the S3 store, under moto --------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch):
    moto = pytest.importorskip('moto')
    boto3 = pytest.importorskip('boto3')
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    monkeypatch.delenv('AWS_PROFILE', raising=False)
    monkeypatch.delenv('AWS_ENDPOINT_URL', raising=False)
    monkeypatch.delenv('AWS_ENDPOINT_URL_S3', raising=False)
    with moto.mock_aws():
        client = boto3.client('s3', region_name='us-east-1')
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_s3_store_puts_under_the_content_hash(s3):
    import hashlib
    store = S3PayloadStore(BUCKET, client=s3)
    text = '[["%s"],{}]' % ('é' * 40000)
    reference = store.put(text)
    key = 'flowy/' + hashlib.sha256(text.encode('utf-8')).hexdigest()
    assert reference == '%ss3://%s/%s' % (REFERENCE_PREFIX, BUCKET, key)
    assert reference == store.reference(text)
    assert s3.get_object(Bucket=BUCKET, Key=key)['Body'].read().decode('utf-8') == text
    # idempotent: the same text is the same object
    assert S3PayloadStore(BUCKET, client=s3).put(text) == reference
    assert [item['Key'] for item in s3.list_objects_v2(Bucket=BUCKET)['Contents']] == [key]
    # any reader with access reads it, whatever its own prefix
    assert S3PayloadStore(BUCKET, prefix='other/', client=s3).get(reference) == text


def test_s3_store_makes_its_own_client(s3):
    store = S3PayloadStore(BUCKET, prefix='runs/7/')
    reference = store.put('"big"')
    assert '/runs/7/' in reference
    assert store.get(reference) == '"big"'


def test_s3_store_missing_and_corrupt_objects_are_payload_missing(s3):
    writer = S3PayloadStore(BUCKET, client=s3)
    reference = writer.put('"gone"')
    key = reference.split(BUCKET + '/', 1)[1]
    s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(PayloadMissing, match=reference) as caught:
        S3PayloadStore(BUCKET, client=s3).get(reference)
    assert caught.value.__cause__ is not None  # botocore's error
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'"tampered"')
    with pytest.raises(PayloadMissing, match='does not match its SHA-256'):
        S3PayloadStore(BUCKET, client=s3).get(reference)
    with pytest.raises(PayloadMissing, match='not a valid S3 payload reference'):
        S3PayloadStore(BUCKET, client=s3).get(REFERENCE_PREFIX + 's3://%s/flowy/abc' % BUCKET)
    with pytest.raises(PayloadMissing):
        S3PayloadStore(BUCKET, client=s3).get(REFERENCE_PREFIX + 's3://no-such-bucket/flowy/'
                                              + '0' * 64)


def test_s3_store_caches_what_it_read(s3):
    store = S3PayloadStore(BUCKET, client=s3)
    reference = store.put('"kept"')
    reader = S3PayloadStore(BUCKET, client=s3)
    assert reader.get(reference) == '"kept"'
    s3.delete_object(Bucket=BUCKET, Key=reference.split(BUCKET + '/', 1)[1])
    assert reader.get(reference) == '"kept"'  # content addressed: a cache is always right
    uncached = S3PayloadStore(BUCKET, client=s3, cache_chars=0)
    with pytest.raises(PayloadMissing):
        uncached.get(reference)


class BrokenClient:
    """An S3 client that cannot reach S3."""

    def __init__(self):
        self.calls = 0

    def put_object(self, **kwargs):
        self.calls += 1
        raise ConnectionError('endpoint unreachable')

    get_object = put_object


def test_s3_store_failures_are_payload_errors_worth_retrying():
    store = S3PayloadStore(BUCKET, client=BrokenClient())
    with pytest.raises(PayloadError, match='cannot store a value of 7 characters') as caught:
        store.put('"hello"')
    assert isinstance(caught.value.__cause__, ConnectionError)
    reference = REFERENCE_PREFIX + 's3://%s/flowy/%s' % (BUCKET, '0' * 64)
    with pytest.raises(PayloadError, match='cannot read the payload ' + reference) as caught:
        store.get(reference)
    assert not isinstance(caught.value, PayloadMissing)
    assert isinstance(caught.value.__cause__, ConnectionError)


@pytest.mark.parametrize('kwargs', [{'bucket': ''}, {'bucket': 'a/b'}, {'bucket': None},
                                    {'prefix': 'a b/'}, {'cache_chars': -1}])
def test_s3_store_checks_its_arguments(kwargs):
    arguments = dict(bucket=BUCKET, client=BrokenClient())
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        S3PayloadStore(**arguments)


def test_importing_flowy_swf_does_not_import_boto3():
    code = ('import sys, flowy, flowy.swf.payload, flowy.swf.decisions, flowy.swf.history\n'
            'print(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")))')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == '[]'


# -- encode_field and decode_field ---------------------------------------------------------


def test_encode_field_leaves_what_fits():
    store = InMemoryPayloadStore()
    assert encode_field('[1]', 'the input of square-0-0') == '[1]'
    assert encode_field('y' * MAX_DATA, 'the input of square-0-0', store) == 'y' * MAX_DATA
    assert encode_field(None, 'the result', store) is None
    assert not store.objects
    assert decode_field('[1]') == '[1]' and decode_field(None) is None


def test_encode_field_without_a_store_names_the_field_the_size_and_the_fix():
    with pytest.raises(PayloadTooLarge) as caught:
        encode_field('x' * 40000, 'the result of square-3-0')
    error = caught.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert message.startswith('the result of square-3-0 is 40000 characters; SWF allows 32768')
    assert 'payload store' in message and 'smaller values' in message
    assert (error.field, error.size, error.limit) == ('the result of square-3-0', 40000,
                                                      MAX_DATA)
    with pytest.raises(PayloadTooLarge, match='details is 2049 characters; SWF allows 2048'):
        encode_field('d' * 2049, 'details', limit=2048)


def test_encode_field_stores_what_does_not_fit():
    store = InMemoryPayloadStore()
    reference = encode_field('x' * 40000, 'the result of square-3-0', store)
    assert is_reference(reference) and len(reference) <= MAX_DATA
    assert decode_field(reference, store) == 'x' * 40000
    small = InMemoryPayloadStore(threshold=100)
    assert encode_field('z' * 100, 'f', small) == 'z' * 100
    assert is_reference(encode_field('z' * 101, 'f', small))
    assert is_reference(encode_field('z' * 95, 'f', small, limit=90))


def test_a_value_that_looks_like_a_reference_is_stored_or_refused():
    store = InMemoryPayloadStore()
    text = REFERENCE_PREFIX + 'not really'
    reference = encode_field(text, 'the input of square-0-0', store)
    assert reference != text and decode_field(reference, store) == text
    with pytest.raises(PayloadError, match='the input of square-0-0 starts with'):
        encode_field(text, 'the input of square-0-0')


def test_store_errors_keep_their_cause():
    class Failing(PayloadStore):
        def put(self, text):
            raise OSError('disk full')

        def get(self, reference):
            raise OSError('disk gone')

    with pytest.raises(PayloadError, match='cannot store the result of f') as caught:
        encode_field('x' * 40000, 'the result of f', Failing())
    assert isinstance(caught.value.__cause__, OSError)
    reference = REFERENCE_PREFIX + 'disk:1'
    with pytest.raises(PayloadError, match='cannot read the payload ' + reference) as caught:
        decode_field(reference, Failing())
    assert isinstance(caught.value.__cause__, OSError)


def test_decode_field_errors_name_the_reference():
    reference = InMemoryPayloadStore().put('"v"')
    with pytest.raises(PayloadError, match='no payload store is configured') as caught:
        decode_field(reference)
    assert reference in str(caught.value)
    assert not isinstance(caught.value, PayloadMissing)
    with pytest.raises(PayloadMissing) as caught:
        decode_field(reference, InMemoryPayloadStore(), 'the result of square-1-0')
    assert str(caught.value).startswith('the result of square-1-0: ')
    assert reference in str(caught.value)
    assert isinstance(caught.value.__cause__, PayloadMissing)


def test_cut_reason():
    assert cut_reason('short') == 'short'
    assert cut_reason('r' * 300) == 'r' * MAX_REASON
    assert cut_reason(ValueError('boom')) == 'boom'


SIZES = sorted({size for limit in (64, 1000, MAX_DATA) for size in range(limit - 3, limit + 4)}
               | {0, 1, 100000})


@settings(max_examples=150, deadline=None)
@given(size=st.sampled_from(SIZES), threshold=st.sampled_from([0, 64, 1000, MAX_DATA]),
       filler=st.sampled_from(['x', 'é', '"', '\U0001f389', '\\']),
       head=st.sampled_from(['', '[', '"', REFERENCE_PREFIX, REFERENCE_PREFIX + 'memory:']))
def test_encode_then_decode_is_identity_and_fits(size, threshold, filler, head):
    store = InMemoryPayloadStore(threshold=threshold)
    text = (head + filler * size)[:max(size, len(head))]
    encoded = encode_field(text, 'the value', store)
    assert len(encoded) <= MAX_DATA
    if not is_reference(encoded):  # sent as it is: within the store's threshold
        assert encoded == text and len(encoded) <= threshold
    assert decode_field(encoded, store) == text
    if len(text) <= threshold and not text.startswith(REFERENCE_PREFIX):
        assert encoded == text
    # without a store: the same text or a clear refusal, never a field too large
    try:
        plain = encode_field(text, 'the value')
    except PayloadTooLarge as error:
        assert len(text) > MAX_DATA and error.size == len(text)
    except PayloadError:
        assert text.startswith(REFERENCE_PREFIX)
    else:
        assert plain == text and len(plain) <= MAX_DATA and decode_field(plain) == text


# -- ExecutionHistory resolves references -------------------------------------------------


def test_the_workflow_input_and_results_are_resolved():
    store = InMemoryPayloadStore()
    log = EventLog()
    log.workflow_started(input=store.put('[["%s"],{}]' % ('i' * 40000)))
    completed = log.decision_round()
    activity = log.activity_scheduled('square-0-0', completed, position=0)
    child = log.child_initiated('sub-0-0', completed, 'order-7.sub-0-0', position=1)
    log.activity_completed(activity, result=store.put('"%s"' % ('r' * 40000)))
    log.child_completed(child, result=store.put('"%s"' % ('c' * 50000)))
    execution = ExecutionHistory('order-7', store=store)
    execution.feed(log.events)
    assert execution.input == '[["%s"],{}]' % ('i' * 40000)
    assert execution.history.get('square-0-0').data == '"%s"' % ('r' * 40000)
    assert execution.history.get('sub-0-0').data == '"%s"' % ('c' * 50000)


def test_a_lost_result_fails_the_call_naming_the_reference():
    store = InMemoryPayloadStore()
    lost = REFERENCE_PREFIX + 'memory:' + 'f' * 64
    log = EventLog()
    log.workflow_started(input='[[],{}]')
    completed = log.decision_round()
    log.activity_completed(log.activity_scheduled('square-0-0', completed, position=0),
                           result=lost)
    execution = ExecutionHistory('order-7', store=store)
    execution.feed(log.events)
    outcome = execution.history.get('square-0-0')
    assert outcome.state is FAILED
    assert outcome.reason.startswith('cannot read the result of square-0-0: ')
    assert lost in outcome.reason
    assert isinstance(outcome.cause, PayloadMissing)


def test_a_lost_workflow_input_is_a_history_error():
    log = EventLog()
    lost = REFERENCE_PREFIX + 'memory:' + 'e' * 64
    log.workflow_started(input=lost)
    with pytest.raises(HistoryError, match='cannot read the input of the workflow') as caught:
        ExecutionHistory('order-7', store=InMemoryPayloadStore()).feed(log.events)
    assert lost in str(caught.value) and isinstance(caught.value.__cause__, PayloadMissing)


class Flaky(InMemoryPayloadStore):
    """An in-memory store whose reads fail while ``down`` is set."""

    down = False

    def get(self, reference):
        if self.down:
            raise PayloadError('the store is down')
        return super().get(reference)


def test_without_a_store_or_with_a_failing_one_feed_raises_and_can_be_fed_again():
    store = Flaky()
    log = EventLog()
    log.workflow_started(input='[[],{}]')
    completed = log.decision_round()
    scheduled = log.activity_scheduled('square-0-0', completed, position=0)
    log.activity_completed(scheduled, result=store.put('"%s"' % ('r' * 40000)))
    with pytest.raises(PayloadError, match='no payload store is configured'):
        ExecutionHistory('order-7').feed(log.events)
    execution = ExecutionHistory('order-7', store=store)
    store.down = True
    with pytest.raises(PayloadError, match='the store is down'):
        execution.feed(log.events)
    assert execution.last_event_id == log.last_id - 1  # the completion was not consumed
    assert execution.history.get('square-0-0').state != COMPLETED
    store.down = False
    assert execution.feed(log.events) == 1
    assert execution.history.get('square-0-0').data == '"%s"' % ('r' * 40000)


# -- to_swf stores what is too large -------------------------------------------------------


def test_a_large_call_input_is_stored():
    store = InMemoryPayloadStore()
    execution, _ = execution_for(store)
    big = '[["%s"],{}]' % ('x' * 40000)
    decisions = to_swf(Decision([call('square-0-0', 0, big), call('sub-0-0', 1, big),
                                 call('square-1-0', 2)]), TYPES, packer_of(execution), store=store)
    inputs = [attributes(d)['input'] for d in decisions]
    assert is_reference(inputs[0]) and inputs[0] == inputs[1]  # stored once
    assert store.get(inputs[0]) == big and inputs[2] == '[[2],{}]'
    assert len(store.objects) == 1


def test_a_delayed_large_input_is_stored_when_the_call_starts():
    store = InMemoryPayloadStore()
    execution, log = execution_for(store)
    big = 'x' * 40000
    [timer] = to_swf(Decision([call('square-0-1', input=big, delay=2)]), TYPES,
                     packer_of(execution), store=store)
    assert timer['decisionType'] == 'StartTimer' and not store.objects
    log.timer_fired('square-0-1.retry', log.timer_started('square-0-1.retry',
                                                          log.decision_round()))
    execution.feed(log.events)
    [scheduled] = to_swf(Decision([]), TYPES, packer_of(execution), store=store)
    assert store.get(attributes(scheduled)['input']) == big


def test_a_large_result_or_restart_input_is_stored():
    store = InMemoryPayloadStore()
    execution, _ = execution_for(store)
    result = '"%s"' % ('z' * MAX_DATA)
    [finish] = to_swf(Decision(outcome=Finish(result)), TYPES, packer_of(execution), store=store)
    assert finish['decisionType'] == 'CompleteWorkflowExecution'
    assert store.get(attributes(finish)['result']) == result
    [restart] = to_swf(Decision(outcome=Restart('x' * 32769)), TYPES, packer_of(execution),
                       store=store)
    assert restart['decisionType'] == 'ContinueAsNewWorkflowExecution'
    assert store.get(attributes(restart)['input']) == 'x' * 32769
    [small] = to_swf(Decision(outcome=Finish('[1]')), TYPES, packer_of(execution), store=store)
    assert attributes(small) == {'result': '[1]'}


def test_a_store_that_fails_makes_to_swf_raise():
    store = S3PayloadStore(BUCKET, client=BrokenClient())
    execution, _ = execution_for(store)
    with pytest.raises(PayloadError, match='cannot store'):
        to_swf(Decision([call(input='x' * 40000)]), TYPES, packer_of(execution), store=store)
    with pytest.raises(PayloadError, match='cannot store'):
        to_swf(Decision(outcome=Finish('x' * 40000)), TYPES, packer_of(execution), store=store)


def test_without_a_store_a_value_like_a_reference_fails_the_call():
    execution, _ = execution_for()
    marker, wake_up = to_swf(Decision([call(input=REFERENCE_PREFIX + 'x')]), TYPES,
                             packer_of(execution))
    assert (marker['decisionType'], wake_up['decisionType']) == ('RecordMarker', 'StartTimer')
    assert 'starts with' in json.loads(attributes(marker)['details'])['reason']


# -- round trips through a store on a simulated SWF ----------------------------------------


def make(n):
    return 'v' * n


def size(text):
    return len(text)


class Big:
    def __init__(self, make, size, sub):
        self.make = make
        self.size = size
        self.sub = sub

    def __call__(self, n):
        text = self.make(n)  # a result too large for SWF
        total = self.size(text)  # ... passed on as an input too large for SWF
        child = self.sub(text)
        return wait(total) + wait(child), wait(text)


def big_config():
    config = WorkflowConfig(Big)
    config._add_task(TaskSpec('make', ACTIVITY, None))
    config._add_task(TaskSpec('size', ACTIVITY, None))
    config._add_task(TaskSpec('sub', WORKFLOW, None))
    return config


BIG_TYPES = {'make': TaskType('activity', 'make', '1'), 'size': TaskType('activity', 'size', '1'),
             'sub': TaskType('workflow', 'Sub', '1')}


@pytest.mark.parametrize('driver', ['replay', 'cached', 'fresh'])
def test_round_trip_with_large_values_through_a_store(driver):
    store = InMemoryPayloadStore()
    config = big_config()
    sim = SimulatedSWF(store.put(config._encode_input([50000], {})), store=store,
                       activities={'make': make, 'size': size}, children={'Sub': size})
    run_on_swf(config, BIG_TYPES, sim, driver=CachedDriver() if driver == 'cached' else replay,
               fresh=driver == 'fresh')
    assert is_reference(sim.closed[1]['result'])
    assert result_of(sim) == (100000, 'v' * 50000)


def test_round_trip_on_s3(s3):
    store = S3PayloadStore(BUCKET, client=s3)
    config = big_config()
    sim = SimulatedSWF(config._encode_input([40000], {}), store=store,
                       activities={'make': make, 'size': size}, children={'Sub': size})
    run_on_swf(config, BIG_TYPES, sim)
    assert result_of(sim) == (80000, 'v' * 40000)
    # the result of make, the input of size and of sub (one object), the workflow result
    assert len(s3.list_objects_v2(Bucket=BUCKET)['Contents']) == 3


def test_round_trip_without_a_store_fails_as_before():
    config = big_config()
    sim = SimulatedSWF(config._encode_input([40000], {}), activities={'make': make, 'size': size},
                       children={'Sub': size})
    with pytest.raises(PayloadTooLarge, match='the result of make-0-0 is 40002 characters'):
        run_on_swf(config, BIG_TYPES, sim)  # the simulated worker cannot send its result


# -- SWF's 1 MB request limit --------------------------------------------------------------

INPUT_SIZE = 30000


def request_size(decisions):
    return len(json.dumps(decisions))


def scheduled_keys(responses):
    return [attributes(d)['activityId'] for response in responses for d in response
            if d['decisionType'] == 'ScheduleActivityTask']


def test_calls_beyond_the_budget_wait_in_the_backlog_in_call_order():
    execution, log = execution_for()
    calls = [call('square-%d-0' % i, i, '[["%s"],{}]' % ('x' * INPUT_SIZE)) for i in range(99)]
    first = to_swf(Decision(calls), TYPES, packer_of(execution))
    assert request_size(first) <= MAX_RESPONSE_BYTES
    assert attributes(first[-1])['timerId'] == WAKE_UP_TIMER_PREFIX + str(log.last_id)
    sent = [attributes(d)['activityId'] for d in first[:-1]]
    assert 20 < len(sent) < 40
    assert sent == ['square-%d-0' % i for i in range(len(sent))]
    assert list(packer_of(execution).backlog) == ['square-%d-0' % i for i in range(len(sent), 99)]
    # SWF records them; the replay driver decides the others again: nothing is sent twice
    completed = log.decision_round()
    for i, key in enumerate(sent):
        log.activity_scheduled(key, completed, position=i)
    execution.feed(log.events)
    second = to_swf(Decision(calls[len(sent):]), TYPES, packer_of(execution))
    more = [attributes(d)['activityId'] for d in second[:-1]]
    assert more == ['square-%d-0' % i for i in range(len(sent), len(sent) + len(more))]
    assert request_size(second) <= MAX_RESPONSE_BYTES
    # the cached driver does not decide them again: the same calls go out
    execution_cached, _ = execution_for()
    execution_cached.feed(log.events)
    to_swf(Decision(calls), TYPES, packer_of(execution_cached))
    assert to_swf(Decision([]), TYPES, packer_of(execution_cached)) != []


def test_a_small_budget_and_the_backlog_with_new_calls():
    execution, log = execution_for()
    budget = 3 * 250
    calls = [call('square-%d-0' % i, i, '[["%s"],{}]' % ('x' * 150)) for i in range(5)]
    first = to_swf(Decision(calls[:3]), TYPES, packer_of(execution), budget=budget)
    assert request_size(first) <= budget
    assert [attributes(d).get('activityId') for d in first] == ['square-0-0', None]
    completed = log.decision_round()
    log.activity_scheduled('square-0-0', completed, position=0)
    execution.feed(log.events)
    # the cached driver's next calls queue up behind the backlog
    second = to_swf(Decision(calls[3:]), TYPES, packer_of(execution), budget=budget)
    assert [attributes(d).get('activityId') for d in second] == ['square-1-0', None]
    assert list(packer_of(execution).backlog) == ['square-2-0', 'square-3-0', 'square-4-0']


def test_the_count_limit_and_the_backlog():
    execution, log = execution_for()
    to_swf(Decision([call('square-%d-0' % i, i, '[["%s"],{}]' % ('x' * INPUT_SIZE))
                     for i in range(40)]), TYPES, packer_of(execution))
    backlog = len(packer_of(execution).backlog)
    execution.feed(log.events)
    # the backlog plus 99 new calls: a full response, the rest waits
    decisions = to_swf(Decision([call('square-%d-0' % i, i) for i in range(40, 139)]),
                       TYPES, packer_of(execution))
    assert len(decisions) <= MAX_DECISIONS and request_size(decisions) <= MAX_RESPONSE_BYTES
    assert attributes(decisions[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
    assert len(packer_of(execution).backlog) == backlog + 99 - (len(decisions) - 1)


class Fanout:
    def __init__(self, square):
        self.square = square

    def __call__(self, n, size):
        return sum(wait(result) for result in [self.square('x' * size + str(i))
                                               for i in range(n)])


def length(text):
    return len(text)


@pytest.mark.parametrize('driver', ['replay', 'cached', 'fresh'])
@pytest.mark.parametrize('count', [99, 150])
def test_round_trip_large_inputs_are_split_over_responses(driver, count):
    config = WorkflowConfig(Fanout)
    config._add_task(TaskSpec('square', ACTIVITY, None))
    sim = SimulatedSWF(config._encode_input([count, INPUT_SIZE], {}),
                       activities={'square': length})
    run_on_swf(config, {'square': SQUARE}, sim, limit=CALL_LIMIT,
               driver=CachedDriver() if driver == 'cached' else replay, fresh=driver == 'fresh')
    assert result_of(sim) == sum(INPUT_SIZE + len(str(i)) for i in range(count))
    assert all(request_size(response) <= MAX_RESPONSE_BYTES for response in sim.responses)
    assert scheduled_keys(sim.responses) == ['square-%d-0' % i for i in range(count)]
    batches = [response for response in sim.responses
               if any(d['decisionType'] == 'ScheduleActivityTask' for d in response)]
    assert len(batches) >= 4
    for response in batches[:-1]:  # each batch but the last asks for the next decision
        assert attributes(response[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
