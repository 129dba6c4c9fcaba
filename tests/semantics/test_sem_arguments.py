"""Arguments of workflows and activities, and values crossing task boundaries."""

import datetime
import os
import threading
import uuid

import pytest
import sem_activities as acts
from sem_harness import Act, Error


class Defaults:
    def __init__(self, power, signature):
        self.power = power
        self.signature = signature

    def __call__(self, a, b=10, *rest, c='c default', **extra):
        return {
            'args': [a, b, list(rest), c, sorted(extra.items())],
            'power_kwargs': self.power(base=a, exp=b),
            'power_default': self.power(a),
            'power_mixed': self.power(a, offset=1),
            'power_result_kwarg': self.power(base=self.power(a), exp=2),
            'signature': self.signature(a, (b,), key=[c], other={'k': self.power(2)}),
        }


@pytest.mark.parametrize('args, kwargs, expected_args', [
    ((2,), {'b': 3}, [2, 3, [], 'c default', []]),
    ((2, 3, 4, 5), {'c': 'C', 'z': 26}, [2, 3, [4, 5], 'C', [('z', 26)]]),
    ((), {'a': 2, 'b': 3}, [2, 3, [], 'c default', []]),
])
def test_workflow_and_activity_keyword_arguments_and_defaults(engine, args, kwargs,
                                                             expected_args):
    a, b, c = expected_args[0], expected_args[1], expected_args[3]
    w = engine.workflow(Defaults, power=acts.power, signature=acts.signature)
    engine.check(w, args, kwargs, expect={
        'args': expected_args,
        'power_kwargs': a ** b,
        'power_default': a ** 2,
        'power_mixed': a ** 2 + 1,
        'power_result_kwarg': (a ** 2) ** 2,
        'signature': [[a, (b,)], [('key', [c]), ('other', {'k': 4})]],
    })


def closure_factory(square):
    """Any callable works as a factory: here a function returning the body."""

    def body(n):
        return square(n) + 1

    return body


def test_a_plain_function_as_factory(engine):
    engine.check(engine.workflow(closure_factory, square=acts.square), (4,), expect=17)


SAMPLE = acts.tagged_sample()


class Tagged:
    """Tagged values go into activities, come back, and come out of the workflow."""

    def __init__(self, echo, type_tree, tagged_sample):
        self.echo = echo
        self.type_tree = type_tree
        self.tagged_sample = tagged_sample

    def __call__(self, value, *more, **named):
        made = self.tagged_sample()
        return {
            'input': [value, list(more), named, acts.type_tree(value)],
            'echo': self.echo(value),
            'seen_by_activity': self.type_tree(value),
            'made_by_activity': made,
            'made_types': acts.type_tree(made),  # the types the body sees
            'round_trip': self.echo(made),
        }


def test_tagged_json_round_trips_through_every_engine(engine):
    more = (b'raw', uuid.UUID(int=5), datetime.date(2020, 1, 2))
    named = {'when': datetime.datetime(2021, 3, 4, 5, 6, 7), 'pair': (1, 2), 'ids': {1, 2}}
    w = engine.workflow(Tagged, echo=acts.echo, type_tree=acts.type_tree,
                        tagged_sample=acts.tagged_sample)
    engine.check(w, (SAMPLE,) + more, named, expect={
        'input': [SAMPLE, list(more), named, acts.type_tree(SAMPLE)],
        'echo': SAMPLE,
        'seen_by_activity': acts.type_tree(SAMPLE),
        'made_by_activity': SAMPLE,
        'made_types': acts.type_tree(SAMPLE),
        'round_trip': SAMPLE,
    })


def test_the_tagged_sample_holds_every_tagged_type():
    # Guards the test above: the sample must hold what plain JSON would lose.
    kinds = set(str(acts.type_tree(SAMPLE)).replace("'", ' ').replace(',', ' ').split())
    for name in ('tuple', 'bytes', 'UUID', 'set', 'frozenset', 'datetime', 'date'):
        assert name in kinds


class Shouting:
    def __init__(self, shout, echo):
        self.shout = shout
        self.echo = echo

    def __call__(self, text):
        return [self.shout(text), self.echo(text), self.shout({'deep': [text]})]


def test_a_custom_transport_per_task_is_used(engine):
    # SHOUT upper-cases strings when it decodes: the activity sees 'HI' (decoded in the
    # worker) and its result is decoded again by SHOUT; the echo task uses tagged JSON.
    w = engine.workflow(Shouting, shout=Act(acts.echo, transport=acts.SHOUT), echo=acts.echo)
    engine.check(w, ('hi',), expect=['HI', 'hi', {'deep': ['HI']}],
                 sequential=['hi', 'hi', {'deep': ['hi']}])
    if engine.name == 'replay':
        for order, simulation in engine.simulations:
            inputs = {c.key: c.input for d in simulation.decisions for c in d.calls}
            assert inputs['shout-0-0'] == 'shout:[["hi"], {}]', order
            assert not inputs['echo-0-0'].startswith('shout:'), order


class WorkflowIO:
    def __init__(self, echo):
        self.echo = echo

    def __call__(self, text):
        return [text, self.echo(text.lower())]


def test_a_custom_workflow_transport_carries_input_and_result(engine):
    # LocalWorkflow(..., transport=SHOUT): the input is decoded by SHOUT (body sees
    # 'ABC'), and so is the result (strings come out upper-cased).
    w = engine.workflow(WorkflowIO, transport=acts.SHOUT, echo=acts.echo)
    engine.check(w, ('abc',), expect=['ABC', 'ABC'], sequential=['abc', 'abc'])


class NotSerializable:
    def __init__(self, echo):
        self.echo = echo

    def __call__(self):
        return self.echo(object())


def test_an_argument_that_cannot_be_sent_fails_that_call(engine):
    if not engine.flowy:
        pytest.skip('plain Python passes the object as it is')
    w = engine.workflow(NotSerializable, echo=acts.echo)
    engine.check(w, expect=Error(
        prefix='echo-0-0 failed: cannot serialize the input of echo-0-0: '))


class Where:
    def __init__(self, where):
        self.where = where

    def __call__(self):
        return self.where()


def test_activities_run_where_the_engine_puts_them(engine):
    # Guards the harness: each engine really runs activities its own way.
    pid, thread = engine.run(engine.workflow(Where, where=acts.where))
    here = threading.current_thread().name
    if engine.name == 'processes':
        assert pid != os.getpid()
    else:
        assert pid == os.getpid()
        assert (thread == here) == (engine.name in ('sequential', 'replay', 'cached')), thread
    if engine.name in ('swf', 'swf_replay'):
        assert thread.startswith('swf-activities-'), thread  # an SWF activity worker's


class CallTimeArguments:
    """A call waiting for one argument must still send the others as they were."""

    def __init__(self, square, type_tree):
        self.square = square
        self.type_tree = type_tree

    def __call__(self):
        names = ['a']
        x = self.square(2)
        seen = self.type_tree([names, x])  # made now, sent once x is known
        names.append('b')                  # too late to change that call
        return seen


CALL_TIME_TYPES = ['list', [['list', ['str']], 'int']]


def test_arguments_are_taken_when_the_call_is_made(engine):
    w = engine.workflow(CallTimeArguments, square=acts.square, type_tree=acts.type_tree)
    engine.check(w, expect=CALL_TIME_TYPES)


@pytest.mark.engine_only('replay')
def test_the_cached_driver_takes_arguments_when_the_call_is_made():
    from engines import SimulatedEngine
    from sem_harness import make_engine

    from flowy.drivers.cached import CachedDriver

    w = make_engine('replay').workflow(CallTimeArguments, square=acts.square,
                                       type_tree=acts.type_tree)
    assert SimulatedEngine(w).run() == CALL_TIME_TYPES  # the replay driver
    assert SimulatedEngine(w, driver=CachedDriver()).run() == CALL_TIME_TYPES
