"""Result proxies behave like their values; dependencies are found inside arguments."""

import pytest
import sem_activities as acts

from flowy import TaskError, wait
from flowy.errors import TaskTimedout
from flowy.result import SuspendTask, TaskResult, is_result, result_of
from flowy.serialization import JSON


class ProxyOps:
    """Uses finished results the way ordinary code uses values."""

    def __init__(self, square, make_list, make_dict, upper):
        self.square = square
        self.make_list = make_list
        self.make_dict = make_dict
        self.upper = upper

    def __call__(self, n):
        x = self.square(n)             # 9
        items = self.make_list(n)      # [0, 1, 2]
        d = self.make_dict(n)          # {'n': 3, 'square': 9}
        text = self.upper('abc')       # 'ABC'
        other = self.square(n)         # 9, a second result
        first_item, *rest = items
        return {
            # arithmetic, both sides
            'add': x + 1, 'radd': 1 + x, 'sub': x - 10, 'rsub': 10 - x, 'mul': x * 2,
            'truediv': x / 2, 'floordiv': x // 2, 'mod': x % 4, 'pow': x ** 2,
            'rpow': 2 ** x, 'neg': -x, 'abs': abs(x), 'divmod': divmod(x, 4),
            'two_results': x + other, 'int': int(x), 'float': float(x),
            'index': list(range(20))[x], 'round': round(x / 4),
            # comparison and truth
            'lt': x < 10, 'le': x <= 9, 'eq': x == 9, 'ne': x != 9, 'gt': 10 > x,
            'results_equal': x == other, 'bool': bool(x), 'not': not x,
            'hash': hash(x) == hash(9), 'dict_key': {x: 'nine'}[9],
            # isinstance sees the value's type
            'isinstance_int': isinstance(x, int), 'isinstance_str': isinstance(x, str),
            'isinstance_list': isinstance(items, list), 'isinstance_dict': isinstance(d, dict),
            '__class__': x.__class__.__name__,
            # iteration over a list result
            'iter': [i * 10 for i in items], 'len': len(items), 'contains': 2 in items,
            'getitem': items[-1], 'slice': items[1:], 'reversed': list(reversed(items)),
            'sorted': sorted(items, reverse=True), 'sum': sum(items), 'max': max(items),
            'unpack': [first_item, rest], 'enumerate': list(enumerate(items)),
            # attribute access on a dict result
            'get': d.get('n'), 'get_default': d.get('nope', 'default'),
            'items': sorted(d.items()), 'keys': sorted(d), 'values': sorted(d.values()),
            'dict_getitem': d['square'], 'dict_len': len(d), 'in_dict': 'n' in d,
            'bit_length': x.bit_length(),
            # strings
            'str': str(x), 'percent': '%d/%s' % (x, x), 'format': '{:>4}|{}'.format(x, text),
            'fstring': f'{x:03d}-{text}', 'method': text.lower(), 'concat': text + '!',
            'rconcat': '!' + text, 'str_len': len(text), 'str_iter': list(text),
            # results returned as they are
            'raw': x, 'raw_list': items, 'raw_dict': d,
        }


PROXY_OPS_EXPECTED = {
    'add': 10, 'radd': 10, 'sub': -1, 'rsub': 1, 'mul': 18, 'truediv': 4.5,
    'floordiv': 4, 'mod': 1, 'pow': 81, 'rpow': 512, 'neg': -9, 'abs': 9,
    'divmod': (2, 1), 'two_results': 18, 'int': 9, 'float': 9.0, 'index': 9, 'round': 2,
    'lt': True, 'le': True, 'eq': True, 'ne': False, 'gt': True, 'results_equal': True,
    'bool': True, 'not': False, 'hash': True, 'dict_key': 'nine',
    'isinstance_int': True, 'isinstance_str': False, 'isinstance_list': True,
    'isinstance_dict': True, '__class__': 'int',
    'iter': [0, 10, 20], 'len': 3, 'contains': True, 'getitem': 2, 'slice': [1, 2],
    'reversed': [2, 1, 0], 'sorted': [2, 1, 0], 'sum': 3, 'max': 2, 'unpack': [0, [1, 2]],
    'enumerate': [(0, 0), (1, 1), (2, 2)],
    'get': 3, 'get_default': 'default', 'items': [('n', 3), ('square', 9)],
    'keys': ['n', 'square'], 'values': [3, 9], 'dict_getitem': 9, 'dict_len': 2,
    'in_dict': True, 'bit_length': 4,
    'str': '9', 'percent': '9/9', 'format': '   9|ABC', 'fstring': '009-ABC',
    'method': 'abc', 'concat': 'ABC!', 'rconcat': '!ABC', 'str_len': 3,
    'str_iter': ['A', 'B', 'C'],
    'raw': 9, 'raw_list': [0, 1, 2], 'raw_dict': {'n': 3, 'square': 9},
}


def test_results_behave_like_values(engine):
    w = engine.workflow(ProxyOps, square=acts.square, make_list=acts.make_list,
                        make_dict=acts.make_dict, upper=acts.upper)
    engine.check(w, (3,), expect=PROXY_OPS_EXPECTED)


class Reprs:
    """repr() of results that are pending, finished and failed, inside a body."""

    def __init__(self, square, fail, echo, inc):
        self.square = square
        self.fail = fail
        self.echo = echo
        self.inc = inc

    def __call__(self, finish):
        if not finish:
            # Nothing has finished at the first activation, and the body returns there.
            return [repr(self.echo('v')), repr(self.echo('w', after=self.inc(1)))]
        done = self.square(3)
        try:
            failed = self.fail('bad')
        except TaskError as exc:  # plain Python raises at the call
            return [repr(done), 'raised: %s' % exc]
        wait(done)
        try:
            wait(failed)
        except TaskError:
            pass
        return [repr(done), repr(failed)]


def test_repr_of_pending_results_never_raises(engine):
    w = engine.workflow(Reprs, square=acts.square, fail=acts.fail, echo=acts.echo,
                        inc=acts.inc)
    engine.check(w, (False,), expect=['<result echo-0-0 pending>', '<result echo-1-0 pending>'],
                 sequential=["'v'", "'w'"])


def test_repr_of_finished_and_failed_results(engine):
    w = engine.workflow(Reprs, square=acts.square, fail=acts.fail, echo=acts.echo,
                        inc=acts.inc)
    engine.check(w, (True,), expect=['9', '<result fail-0-0 failed: ActivityFailure: bad>'],
                 sequential=['9', 'raised: bad'])


@pytest.mark.engine_only('replay')
def test_repr_unit():
    pending = TaskResult('square-0-0')
    assert repr(pending.proxy) == '<result square-0-0 pending>'
    assert repr(pending) == '<TaskResult square-0-0 pending>'
    with pytest.raises(SuspendTask):
        pending.proxy + 1  # using it (not repr) suspends
    derived = TaskResult(None)
    assert repr(derived.proxy) == '<result derived pending>'

    failed = TaskResult.failed(TaskError('it broke', 'fail-1-0'), 4, 'fail-1-0')
    assert repr(failed.proxy) == '<result fail-1-0 failed: it broke>'
    assert 'it broke' in repr(failed)
    with pytest.raises(TaskError, match='^it broke$'):
        failed.proxy + 1
    timed_out = TaskResult.failed(TaskTimedout('too slow', 'sq-0-2'), 1, 'sq-0-2')
    assert repr(timed_out.proxy) == '<result sq-0-2 failed: too slow>'
    with pytest.raises(TaskTimedout):
        str(timed_out.proxy)

    finished = TaskResult.finished([1, 'a'], 0, 'make_list-0-0')
    assert repr(finished.proxy) == "[1, 'a']"
    assert str(finished.proxy) == "[1, 'a']"
    encoded = TaskResult.encoded('{"!t":[1,2]}', JSON.loads, 2, 'echo-0-0')
    assert repr(encoded.proxy) == '(1, 2)'

    garbage = TaskResult.encoded('not json at all', JSON.loads, 3, 'echo-1-0')
    text = repr(garbage.proxy)
    assert text.startswith('<result echo-1-0')
    assert 'cannot decode' in repr(garbage.proxy)  # and again, now that it is an error
    with pytest.raises(TaskError, match='cannot decode the result of echo-1-0'):
        garbage.proxy + 1


@pytest.mark.engine_only('replay')
def test_proxy_helpers_never_force_a_value():
    pending = TaskResult('x-0-0')
    proxy = pending.proxy
    assert is_result(proxy) and not is_result(5)
    assert result_of(proxy) is pending and result_of(5) is None
    assert type(proxy).__name__ == 'ResultProxy'


class Nested:
    """A call whose arguments hold results deep inside lists, tuples and dicts."""

    def __init__(self, square, echo, type_tree, signature):
        self.square = square
        self.echo = echo
        self.type_tree = type_tree
        self.signature = signature

    def __call__(self):
        x = self.square(3)
        y = self.square(self.square(2))  # finishes later than x
        value = {'a': [x, (y,)], 'b': ({'c': [[y]]},)}
        return [self.echo(value), self.type_tree(value),
                self.signature(x, key={'deep': [(y, x)]})]


NESTED_EXPECTED = [
    {'a': [9, (16,)], 'b': ({'c': [[16]]},)},
    ['dict', [['str', ['list', ['int', ['tuple', ['int']]]]],
              ['str', ['tuple', [['dict', [['str', ['list', [['list', ['int']]]]]]]]]]]],
    [[9], [('key', {'deep': [(16, 9)]})]],
]


def test_dependencies_inside_nested_arguments(engine):
    w = engine.workflow(Nested, square=acts.square, echo=acts.echo, type_tree=acts.type_tree,
                        signature=acts.signature)
    outcome = engine.check(w, expect=NESTED_EXPECTED)
    if engine.name == 'replay':
        for order, simulation in engine.simulations:
            calls = {call.key: call for decision in simulation.decisions
                     for call in decision.calls}
            # square-0 is x, square-1 is the inner square, square-2 is y
            assert set(calls['echo-0-0'].depends_on) == {'square-0-0', 'square-2-0'}
            assert set(calls['signature-0-0'].depends_on) == {'square-0-0', 'square-2-0'}
            # each was scheduled once, only after both results were in the history
            for key in ('echo-0-0', 'type_tree-0-0', 'signature-0-0'):
                made = [i for i, d in enumerate(simulation.decisions)
                        for call in d.calls if call.key == key]
                assert len(made) == 1, (order, key)
    assert not outcome.failed


@pytest.mark.engine_only('replay')
def test_depends_on_names_each_result_once():
    from engines import SimulatedEngine
    from sem_harness import make_engine

    w = make_engine('replay').workflow(Nested, square=acts.square, echo=acts.echo,
                                       type_tree=acts.type_tree, signature=acts.signature)
    simulation = SimulatedEngine(w)
    simulation.run()
    calls = {call.key: call for d in simulation.decisions for call in d.calls}
    depends_on = calls['echo-0-0'].depends_on
    assert len(depends_on) == len(set(depends_on)), depends_on
