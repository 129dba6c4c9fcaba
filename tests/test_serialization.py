"""Tests for flowy.serialization: tagged JSON that round-trips Python types."""

import collections
import datetime
import decimal
import doctest
import enum
import json
import math
import sys
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowy import serialization, serialization_paths
from flowy.serialization import JSON, MAX_DEPTH, JSONTransport, dumps, loads

UTC = datetime.UTC
PLUS_0530 = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
ODD_OFFSET = datetime.timezone(-datetime.timedelta(hours=3, seconds=7, microseconds=5))
# Offsets under a second are absurd but exact; Python 3.11 parses them as UTC.
TINY_OFFSET = datetime.timezone(datetime.timedelta(microseconds=1))
NEGATIVE_TINY_OFFSET = datetime.timezone(-datetime.timedelta(microseconds=500_000))


def assert_same(a, b, path='top'):
    """Assert ``a == b`` recursively, with identical types all the way down.

    Plain ``==`` is not enough: ``1 == 1.0 == True``, ``(1,) != [1]`` only at
    the top, and nan never equals itself.
    """
    assert type(a) is type(b), f'{path}: {type(a).__name__} != {type(b).__name__}'
    if type(a) is float:
        if math.isnan(a):
            assert math.isnan(b), path
        else:
            assert a == b and math.copysign(1, a) == math.copysign(1, b), f'{path}: {a!r} != {b!r}'
    elif type(a) is decimal.Decimal:
        # str() is exact (keeps exponent, sign of zero, NaN payloads) and
        # avoids comparing signaling NaNs, which raises.
        assert str(a) == str(b), f'{path}: {a!r} != {b!r}'
    elif type(a) in (list, tuple):
        assert len(a) == len(b), f'{path}: lengths {len(a)} != {len(b)}'
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f'{path}[{i}]')
    elif type(a) is dict:
        # Key order is part of the contract, so compare pairwise.
        assert len(a) == len(b), f'{path}: lengths {len(a)} != {len(b)}'
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True):
            assert_same(ka, kb, f'{path} key {ka!r}')
            assert_same(va, vb, f'{path}[{ka!r}]')
    elif type(a) in (set, frozenset):
        assert a == b, f'{path}: {a!r} != {b!r}'
        # Equal members may still differ in type (1 == 1.0): pair them up.
        members_of_b = {x: x for x in b}
        for x in a:
            assert_same(x, members_of_b[x], f'{path} member {x!r}')
    elif type(a) in (datetime.datetime, datetime.time):
        assert a == b, f'{path}: {a!r} != {b!r}'
        assert a.replace(tzinfo=None) == b.replace(tzinfo=None), path
        assert a.utcoffset() == b.utcoffset(), f'{path}: offsets differ'
    else:
        assert a == b, f'{path}: {a!r} != {b!r}'


def roundtrip(value):
    text = dumps(value)
    assert isinstance(text, str)
    json.loads(text)  # always valid JSON
    result = loads(text)
    assert_same(value, result)
    return text


# -- examples of every supported type ------------------------------------------

SCALARS = [
    None, True, False, 0, 1, -7, 2**100, -(2**70),
    0.0, -0.0, 1.5, -2.25e-300, 1e308, float('inf'), float('-inf'), float('nan'),
    '', 'text', 'üñíçødé ☃ 𝄞', '\ud800 lone surrogate', '"quotes" and \\ and \n',
    '!t', '!',
]

RICH = [
    (), (1,), (1, 2, 3), ('a', None, 1.5),
    b'', b'\x00\xff binary', bytes(range(256)),
    uuid.UUID('12345678-1234-5678-1234-567812345678'), uuid.UUID(int=0),
    set(), {1, 2, 3}, {'b', 'a'}, {1, 'a', None},
    frozenset(), frozenset({1, 2}), frozenset({(1, 2), (0, 5)}),
    datetime.datetime(2024, 2, 29, 12, 30, 45),
    datetime.datetime(2024, 2, 29, 12, 30, 45, 123456),
    datetime.datetime(1, 1, 1), datetime.datetime.max,
    datetime.datetime(2020, 1, 1, tzinfo=UTC),
    datetime.datetime(2020, 1, 1, 23, 59, 59, 1, tzinfo=PLUS_0530),
    datetime.datetime(2020, 1, 1, 0, 0, 0, 999999, tzinfo=ODD_OFFSET),
    datetime.date(2024, 2, 29), datetime.date.min, datetime.date.max,
    datetime.time(), datetime.time(23, 59, 59, 999999),
    datetime.time(1, 2, 3, 4, tzinfo=PLUS_0530), datetime.time(5, tzinfo=ODD_OFFSET),
    datetime.time(tzinfo=TINY_OFFSET), datetime.datetime(2000, 1, 1, tzinfo=TINY_OFFSET),
    datetime.time(tzinfo=NEGATIVE_TINY_OFFSET),
    datetime.timedelta(), datetime.timedelta(days=-1, microseconds=1),
    datetime.timedelta.max, datetime.timedelta.min,
    decimal.Decimal('1.10'), decimal.Decimal('-0'), decimal.Decimal('1E+3'),
    decimal.Decimal('NaN'), decimal.Decimal('-sNaN12'), decimal.Decimal('-Infinity'),
    decimal.Decimal('3.14159265358979323846264338327950288419716939937510'),
    [], {}, [1, [2, [3, []]]], {'a': 1, 'b': [1.5, None]},
    {1: 'one', 2: 'two'}, {(1, 2): 'pair', None: 0, 1.5: 'f', True: 't'},
    {'mixed': 1, 2: 'keys'},
]


@pytest.mark.parametrize('value', SCALARS + RICH, ids=repr)
def test_roundtrip_examples(value):
    roundtrip(value)


@pytest.mark.parametrize('value', SCALARS + RICH, ids=repr)
def test_roundtrip_through_transport(value):
    assert_same(JSON.loads(JSON.dumps(value)), loads(dumps(value)))


def test_nested_mixes():
    roundtrip([{(1, 'a'): [{(2, (3,)): {frozenset({1}): b'x'}}]}])
    roundtrip({frozenset({(1, 2), (3, 4)}), (5, (6, 7))})
    roundtrip({'!x': 1})
    roundtrip({'!t': [1, 2]})
    roundtrip({'!m': [[1, 2]]})
    roundtrip([{'!s': []}, {'!': None}, {'!x': {'!y': ('!z',)}}])
    roundtrip({'!x': 1, '!y': 2})
    roundtrip([[], {}, (), set(), frozenset(), b'', '', ([], {}, ((),))])
    roundtrip({(): {}, frozenset(): set(), '': ''})
    roundtrip((uuid.uuid4(), datetime.datetime.now(), datetime.date.today(),
               {decimal.Decimal('1.0'): datetime.timedelta(seconds=1)}))


def test_bytearray_comes_back_as_bytes():
    assert loads(dumps(bytearray(b'\x00abc'))) == b'\x00abc'
    assert type(loads(dumps(bytearray(b'abc')))) is bytes


def test_shared_substructures_are_not_recursion():
    shared = [1, (2,)]
    roundtrip([shared, shared, {'a': shared}])


def test_zoneinfo_datetime_keeps_its_instant_and_offset():
    zoneinfo = pytest.importorskip('zoneinfo')
    try:
        zone = zoneinfo.ZoneInfo('Europe/Paris')
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip('no time zone data')
    value = datetime.datetime(2024, 7, 1, 12, tzinfo=zone)
    result = loads(dumps(value))
    assert result == value
    assert result.utcoffset() == datetime.timedelta(hours=2)


# -- the wire format -------------------------------------------------------------

@pytest.mark.parametrize('value, text', [
    (None, 'null'),
    (1, '1'),
    ('a', '"a"'),
    (float('nan'), 'NaN'),
    ([1, 'a'], '[1,"a"]'),
    ({'a': 1, 'b': 2}, '{"a":1,"b":2}'),
    ({'b': 1, 'a': 2}, '{"b":1,"a":2}'),
    ((1, 2), '{"!t":[1,2]}'),
    (b'hi', '{"!b":"aGk="}'),
    (uuid.UUID(int=1), '{"!u":"00000000000000000000000000000001"}'),
    ({3, 1, 2}, '{"!s":[1,2,3]}'),
    (frozenset({'b', 'a'}), '{"!fs":["a","b"]}'),
    (datetime.datetime(2020, 1, 2, 3, 4, 5, 6), '{"!dt":"2020-01-02T03:04:05.000006"}'),
    (datetime.datetime(2020, 1, 2, tzinfo=UTC), '{"!dt":"2020-01-02T00:00:00+00:00"}'),
    (datetime.date(2020, 1, 2), '{"!d":"2020-01-02"}'),
    (datetime.time(3, 4), '{"!tm":"03:04:00"}'),
    (datetime.timedelta(days=1, seconds=2, microseconds=3), '{"!td":[1,2,3]}'),
    (decimal.Decimal('1.50'), '{"!dec":"1.50"}'),
    ({1: 2}, '{"!m":[[1,2]]}'),
    ({'a': 1, 2: 3}, '{"!m":[["a",1],[2,3]]}'),
    ({'!x': 1}, '{"!m":[["!x",1]]}'),
    ({'!x': 1, '!y': 2}, '{"!x":1,"!y":2}'),
    ({'x!': 1}, '{"x!":1}'),
    ('é', '"\\u00e9"'),
])
def test_exact_wire_format(value, text):
    assert dumps(value) == text


def test_unknown_tag_decodes_as_plain_dict():
    assert loads('{"!nope":[1,2]}') == {'!nope': [1, 2]}
    assert loads('[{"!zz":{"!t":[1]}}]') == [{'!zz': (1,)}]
    assert loads('{"!t":[1],"extra":2}') == {'!t': [1], 'extra': 2}


def test_foreign_plain_json_decodes_as_usual():
    assert loads('{"a": [1, 2.5, null, true], "b": {}}') == {'a': [1, 2.5, None, True], 'b': {}}


def in_order(factory, items):
    """A set built by adding ``items`` one by one, so insertion order varies."""
    result = set()
    for item in items:
        result.add(item)
    return factory(result)


def test_set_encoding_is_deterministic():
    values = list(range(100, 0, -1)) + [2**64 + 1, 1 - 2**63]
    assert dumps(in_order(set, values)) == dumps(in_order(set, values[::-1]))
    tuples = [(i % 7, str(i)) for i in range(50)]
    assert dumps(in_order(frozenset, tuples)) == dumps(in_order(frozenset, tuples[::-1]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers() | st.text(max_size=3)), st.randoms())
def test_equal_sets_encode_equally(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    ints = [x for x in items if type(x) is int]
    strs = [x for x in items if type(x) is str]
    shuffled_ints = [x for x in shuffled if type(x) is int]
    assert dumps(in_order(set, ints)) == dumps(in_order(set, shuffled_ints))
    assert dumps({'k': in_order(frozenset, strs)}) == dumps(
        {'k': in_order(frozenset, [x for x in shuffled if type(x) is str])})
    pairs = [(i, s) for i in ints for s in strs]
    assert dumps(in_order(set, pairs)) == dumps(in_order(set, pairs[::-1]))


def test_unsortable_sets_still_roundtrip():
    roundtrip({1, 'a', (1,), None, b'x'})
    # Comparing a Decimal NaN raises InvalidOperation rather than TypeError.
    result = loads(dumps({decimal.Decimal('NaN'), 1}))
    assert type(result) is set and 1 in result and len(result) == 2


def test_output_is_compact():
    text = dumps({'a': [1, (2, 3)], 4: {5}})
    assert ' ' not in text and '\n' not in text


# -- __json__ -------------------------------------------------------------------

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __json__(self):
        return {'x': self.x, 'y': self.y, 'pair': (self.x, self.y)}


class Wrapped:
    def __init__(self, inner):
        self.inner = inner

    def __json__(self):
        return self.inner


def test_json_method_is_encoded_as_its_result():
    assert loads(dumps(Point(1, 2))) == {'x': 1, 'y': 2, 'pair': (1, 2)}
    assert loads(dumps([Point(1, 2), {'p': Point(3, 4)}])) == [
        {'x': 1, 'y': 2, 'pair': (1, 2)}, {'p': {'x': 3, 'y': 4, 'pair': (3, 4)}}]
    assert dumps(Wrapped(5)) == '5'
    assert loads(dumps(Wrapped(Wrapped((1, b'z'))))) == (1, b'z')
    assert loads(dumps({'k': Wrapped({7})})) == {'k': {7}}
    assert loads(dumps({Wrapped(1): 2})) == {1: 2}


def test_json_method_wins_over_subclass_rejection():
    class Color(enum.IntEnum):
        RED = 1

        def __json__(self):
            return self.name

    assert dumps([Color.RED]) == '["RED"]'


def test_non_callable_json_attribute_is_not_used():
    class Odd:
        __json__ = 'not callable'

    with pytest.raises(TypeError, match='cannot serialize an Odd at the top level'):
        dumps(Odd())


def test_class_with_json_method_is_not_encoded():
    with pytest.raises(TypeError, match='cannot serialize a type at \\[0\\]'):
        dumps([Point])


# -- errors ---------------------------------------------------------------------

class Foo:
    pass


def test_unsupported_type_names_type_and_path():
    with pytest.raises(TypeError) as info:
        dumps([0, {'x': Foo()}])
    message = str(info.value)
    assert message.startswith("cannot serialize a Foo at [1]['x']: ")
    assert '__json__()' in message and 'different transport' in message


@pytest.mark.parametrize('value, where', [
    (Foo(), 'the top level'),
    ((1, (2, Foo())), '[1][1]'),
    ({'a': {'b': [Foo()]}}, "['a']['b'][0]"),
    ({1: Foo()}, '[1]'),
    ({'x': {Foo(): 1}}, "['x']<key #0>"),
    ({'x': {1: 2, (3, Foo()): 4}}, "['x']<key #1>[1]"),
    ([{(3, Foo())}], '[0]<item #0>[1]'),
    ([{1, 2, 3}, frozenset({Foo()})], '[1]<item #0>'),
    ([Wrapped([1, Foo()])], '[0].__json__()[1]'),
])
def test_unsupported_type_paths(value, where):
    with pytest.raises(TypeError, match='cannot serialize a Foo at ') as info:
        dumps(value)
    assert f'cannot serialize a Foo at {where}: ' in str(info.value)


def test_long_keys_are_shortened_in_paths():
    with pytest.raises(TypeError) as info:
        dumps({'k' * 500: Foo()})
    assert len(str(info.value)) < 400


@pytest.mark.parametrize('value, base', [
    (collections.namedtuple('P', 'x y')(1, 2), 'tuple'),
    (collections.OrderedDict(a=1), 'dict'),
    (enum.IntEnum('E', 'A').A, 'int'),
    (type('S', (str,), {})('s'), 'str'),
])
def test_subclasses_of_supported_types_are_rejected(value, base):
    with pytest.raises(TypeError, match=f'subclass of {base}') as info:
        dumps([value])
    assert ' at [0] ' in str(info.value)


def test_unsupported_builtins():
    for value in (object(), print, 1j, range(3), iter([]), memoryview(b'')):
        with pytest.raises(TypeError, match=type(value).__qualname__):
            dumps({'v': value})


def test_recursive_list():
    value = [1, 2]
    value.append(value)
    with pytest.raises(ValueError, match=r'recursive structure at \[2\]'):
        dumps(value)


def test_recursive_dict_nested():
    inner = {}
    value = {'a': [inner]}
    inner['back'] = value
    with pytest.raises(ValueError, match=r"recursive structure at \['a'\]\[0\]\['back'\]"):
        dumps(value)


def test_recursive_through_json_method():
    class Loop:
        def __json__(self):
            return [self]

    with pytest.raises(ValueError, match=r'recursive structure at \[0\]\.__json__\(\)\[0\]'):
        dumps([Loop()])


def test_deep_nesting_is_a_clear_value_error():
    value = None
    for _ in range(50_000):
        value = [value]
    with pytest.raises(ValueError, match=r'nested too deeply .*at \[0\]\[0\].*more'):
        dumps(value)


def test_endless_json_chain_is_a_clear_value_error():
    class Chain:
        def __init__(self, n):
            self.n = n

        def __json__(self):
            return [Chain(self.n + 1)]

    with pytest.raises(ValueError, match='nested too deeply'):
        dumps(Chain(0))


def test_moderate_nesting_roundtrips():
    value = 'leaf'
    for i in range(150):
        value = (value,) if i % 3 else {'k': [value]}
    roundtrip(value)


def test_unsupported_inside_deep_value_is_a_type_error():
    value = Foo()
    for _ in range(100):
        value = [value]
    with pytest.raises(TypeError, match=r'a Foo at (\[0\]){8}\.\.\.\(84 more\)\.\.\.(\[0\]){8}: '):
        dumps(value)


def test_errors_do_not_chain_internal_exceptions():
    with pytest.raises(TypeError) as info:
        dumps([Foo()])
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_recursion_inside_json_method_is_not_reported_as_nesting():
    class Bad:
        def __json__(self):
            return self.__json__()

    with pytest.raises(RecursionError):
        dumps([Bad()])


@pytest.mark.parametrize('text', ['', '{', '[1,]', 'nope', '{"a" 1}', '[1] [2]', "{'a': 1}"])
def test_loads_invalid_json(text):
    with pytest.raises(ValueError):
        loads(text)


@pytest.mark.parametrize('text', [
    '{"!b":"not base64!"}', '{"!b":"aGk=!!"}', '{"!u":"xyz"}', '{"!dt":"yesterday"}', '{"!d":5}',
    '{"!td":[1]}', '{"!dec":"one"}', '{"!m":[1,2]}', '{"!s":[[1]]}', '{"!tm":null}',
    # these used to escape as AttributeError
    '{"!u":0}', '{"!u":null}', '{"!u":[1]}',
    # and these decoded to something else than the tag promises
    '{"!s":"abc"}', '{"!fs":"abc"}', '{"!t":"ab"}', '{"!t":{"a":1}}', '{"!m":["ab"]}',
    '{"!m":"ab"}', '{"!m":[[1,2,3]]}', '{"!m":{"a":1}}', '{"!dec":{"!t":[0,{"!t":[1]},0]}}',
    '{"!dec":5}', '{"!td":[true,0,0]}', '{"!td":[1.5,0,0]}', '{"!td":[1,2,3,4]}',
    '{"!td":{"!t":[1,2,3]}}', '{"!b":5}', '{"!b":"aGk"}', '{"!b":"\u00e9"}', '{"!dt":5}',
    '{"!tm":["03:04"]}', '{"!s":{"!t":[1]}}',
    '{"!u":"{12345678-1234-5678-1234-567812345678}"}', '{"!u":"0x345678123456781234567812345678"}',
    '{"!u":"12345678-1234-5678-1234-567812345678"}', '{"!u":"\u0661%s"}' % ('0' * 31),
    # decoders that raise TypeError or OverflowError inside
    '{"!m":[[[1],2]]}', '{"!fs":[{"a":1}]}', '{"!td":[1e400,0,0]}',
    '{"!td":[999999999999,0,0]}', '{"!td":[0,0,%d]}' % 2 ** 70,
])
def test_loads_malformed_tag_payload(text):
    with pytest.raises(ValueError, match='^malformed tagged JSON at the top level: cannot decode'):
        loads(text)


@pytest.mark.parametrize('text, where', [
    ('[1, {"!u": 0}]', '[1]'),
    ('{"!t": [0, {"!u": -1}]}', '[1]'),
    ('{"!t": {"!u": -1}}', "<'!t' payload>"),
    ('[1, {"a": [{"!t": [0, {"!u": "x"}]}]}]', "[1]['a'][0][1]"),
    ('{"!s": [1, {"!d": 5}]}', '<item #1>'),
    ('{"!fs": [{"!t": "no"}]}', '<item #0>'),
    ('{"x": {"!m": [[1, 2], [{"!u": 7}, 1]]}}', "['x']<key #1>"),
    ('{"!m": [["k", 1], [{"!t": [1, 2]}, {"!b": "!!"}]]}', '[(1, 2)]'),
    ('{"!m": [[{"!x": 1}, {"!b": "!!"}]]}', "[{'!x': 1}]"),
    ('{"!td": [{"!u": 1}, 0, 0]}', "<'!td' payload>[0]"),
    ('{"!m": [[1, 2], 3, [{"!u": 1}, 4]]}', "<'!m' payload>[2][0]"),
    ('{"!t": [1], "extra": [{"!u": 1}]}', "['extra'][0]"),
    ('{"!nope": {"!u": 1}}', "['!nope']"),
])
def test_malformed_tags_name_their_place(text, where):
    with pytest.raises(ValueError) as info:
        loads(text)
    assert str(info.value).startswith(f'malformed tagged JSON at {where}: cannot decode ')
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_malformed_tag_message_names_tag_payload_and_reason():
    with pytest.raises(ValueError) as info:
        loads('[{"!s": "abc"}]')
    assert str(info.value) == ("malformed tagged JSON at [0]: cannot decode '!s' payload "
                               "'abc': expected a list of members, got a str")
    with pytest.raises(ValueError, match="payload 'aaaaaaa.*: expected 32 hex digits$"):
        loads('{"!u": "%s"}' % ('a' * 5000))  # a long payload is shortened


def test_well_formed_tags_still_decode_in_every_form_the_writer_uses():
    upper = '{"!u":"ABCDEF00000000000000000000000001"}'
    assert loads(upper) == uuid.UUID(int=(0xABCDEF << 104) + 1)
    assert loads('{"!td":[-1,0,0]}') == datetime.timedelta(days=-1)
    assert loads('{"!m":[]}') == {}
    assert loads('{"!s":[]}') == set()
    assert loads('{"!b":""}') == b''


@pytest.mark.parametrize('value', [b'{"!t":[1]}', bytearray(b'1'), None, 1, ['[]']])
def test_loads_needs_a_str(value):
    with pytest.raises(TypeError, match='loads\\(\\) needs a str'):
        loads(value)


def test_loads_deep_json_is_a_value_error():
    with pytest.raises(ValueError, match='nested too deeply to decode'):
        loads('[' * 100_000 + ']' * 100_000)


# -- the nesting limit, the same both ways -------------------------------------------

def json_depth(text):
    """How deep JSON ``text`` nests arrays and objects: a plain scan, independent of flowy."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == '\\':
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in '[{':
            depth += 1
            deepest = max(deepest, depth)
        elif char in ']}':
            depth -= 1
    return deepest


# How each container is written: the JSON levels it takes, and a way to wrap a value in it.
WRAPPERS = {
    'list': (1, lambda v: [v]),
    'dict': (1, lambda v: {'k': v}),
    'tuple': (2, lambda v: (v,)),
    'frozenset': (2, lambda v: frozenset([v])),
    'int-keyed dict': (3, lambda v: {1: v}),
    'json method': (1, lambda v: Wrapped([v])),
}


def nested(depth, kind):
    """A value whose JSON nests exactly ``depth`` levels, built of ``kind`` (and lists
    outside them for a rest that ``kind`` cannot make)."""
    levels, wrap = WRAPPERS[kind]
    value = None
    for _ in range(depth // levels):
        value = wrap(value)
    for _ in range(depth % levels):
        value = [value]
    return value


def at_stack_depth(frames, function):
    """Call ``function`` below ``frames`` more frames of this thread's stack."""
    if frames <= 0:
        return function()
    return at_stack_depth(frames - 1, function)


def test_json_depth():
    assert [json_depth(t) for t in ('1', '[]', '[[],[[]]]', '{"a":[{}]}', '["[[[\\"[["]')] == [
        0, 1, 3, 3, 1]


@pytest.mark.parametrize('kind', WRAPPERS)
def test_max_depth_levels_round_trip(kind):
    value = nested(MAX_DEPTH, kind)
    text = dumps(value)
    assert json_depth(text) == MAX_DEPTH
    if kind == 'json method':
        assert loads(text) == nested(MAX_DEPTH, 'list')
    else:
        assert_same(loads(text), value)


@pytest.mark.parametrize('kind', WRAPPERS)
def test_dumps_refuses_one_level_more_naming_the_limit(kind):
    value = nested(MAX_DEPTH + 1, kind)
    with pytest.raises(ValueError) as info:
        dumps(value)
    message = str(info.value)
    assert message.startswith('value is nested too deeply to serialize: its JSON reaches ')
    assert f'more than the limit of {MAX_DEPTH} (flowy.serialization.MAX_DEPTH' in message
    assert info.value.__context__ is None


def test_dumps_names_the_place_where_the_limit_is_passed():
    value = {'deep': [nested(MAX_DEPTH - 1, 'tuple')], 'flat': 1}
    with pytest.raises(ValueError) as info:
        dumps(value)
    # The dict and list take two levels, the list around the tuples one, each tuple
    # two: the 249th tuple, 251 steps in, reaches 501.
    assert "reaches 501 levels at ['deep'][0][0][0][0][0][0][0]...(235 more)...[0][0]" in str(
        info.value)


@pytest.mark.parametrize('opening, closing', [('[', ']'), ('{"a":', '}'), ('{"!t":[', ']}'),
                                              ('{"!m":[[1,', ']]}')])
def test_loads_takes_max_depth_levels_and_refuses_one_more(opening, closing):
    def text(depth):
        repeat = depth // json_depth(opening + closing)
        core = '[' * (depth % json_depth(opening + closing))
        return opening * repeat + core + '0' + ']' * len(core) + closing * repeat

    assert json_depth(text(MAX_DEPTH)) == MAX_DEPTH
    loads(text(MAX_DEPTH))
    malformed_too = text(MAX_DEPTH + 1).replace('0', '{"!u": 1}')
    for too_deep in (text(MAX_DEPTH + 1), malformed_too, text(5000)):
        with pytest.raises(ValueError, match=f'nested too deeply to decode: more than the limit '
                                             f'of {MAX_DEPTH} levels'):
            loads(too_deep)


@pytest.mark.parametrize('text', [
    json.dumps(['[' * 5000]),
    json.dumps(['{', '[' * 2000, ']' * 3000, '"[' * 1000]),  # escaped quotes among them
    json.dumps({'[' * 600: '\n['}, ensure_ascii=False),
    json.dumps(['é[' * 600, '\ud800[' * 600]),
])
def test_brackets_inside_strings_do_not_count(text):
    assert dumps(loads(text)) == json.dumps(json.loads(text), separators=(',', ':'))


def test_what_dumps_writes_loads_reads_however_deep_the_stack():
    # The fault this guards against: a value encoded in a worker near the top of its
    # stack, then decoded by a parent already some frames deep, failed to decode.
    frames = sys.getrecursionlimit() - 150
    for kind in ('list', 'tuple', 'int-keyed dict'):
        value = nested(MAX_DEPTH, kind)
        text = dumps(value)
        with pytest.raises(RecursionError):  # what the C decoder alone would do there
            at_stack_depth(frames, lambda text=text: json.loads(text))
        assert_same(at_stack_depth(frames, lambda text=text: loads(text)), value)
        assert at_stack_depth(frames, lambda value=value: dumps(value)) == text


def test_dumps_refuses_at_any_stack_depth_what_loads_would_refuse():
    frames = sys.getrecursionlimit() - 150
    for depth in (MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2, 2 * MAX_DEPTH):
        value = nested(depth, 'tuple')
        for stack in (0, frames):
            try:
                text = at_stack_depth(stack, lambda value=value: dumps(value))
            except ValueError as exc:
                assert depth > MAX_DEPTH and 'MAX_DEPTH' in str(exc)
                continue
            assert depth <= MAX_DEPTH
            assert_same(at_stack_depth(frames - stack, lambda text=text: loads(text)), value)


# -- properties -------------------------------------------------------------------

fixed_offsets = st.builds(
    datetime.timezone,
    st.timedeltas(min_value=-datetime.timedelta(hours=23, minutes=59),
                  max_value=datetime.timedelta(hours=23, minutes=59)))
keyish_text = st.one_of(st.text(max_size=8), st.sampled_from(['!', '!t', '!m', '!x', '!dt']))

# Hashable leaves avoid NaN: a set holding nan cannot compare equal to a copy.
hashable_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), keyish_text,
    st.binary(max_size=8), st.uuids(),
    st.datetimes(timezones=st.none() | fixed_offsets), st.dates(),
    st.times(timezones=st.none() | fixed_offsets), st.timedeltas(),
    st.decimals(allow_nan=False),
)
hashables = st.recursive(
    hashable_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(tuple),
                            st.frozensets(inner, max_size=3)),
    max_leaves=6)
leaves = st.one_of(hashable_leaves, st.floats(), st.decimals())
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keyish_text, inner, max_size=4),
        st.dictionaries(hashables, inner, max_size=4),
        st.sets(hashables, max_size=4),
        st.frozensets(hashables, max_size=4),
    ),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(values)
def test_property_roundtrip(value):
    roundtrip(value)


@settings(max_examples=50, deadline=None)
@given(values)
def test_property_dumps_is_deterministic_and_compact(value):
    text = dumps(value)
    assert dumps(value) == text
    assert text == json.dumps(json.loads(text), separators=(',', ':'))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keyish_text, st.integers(), min_size=1, max_size=1))
def test_property_single_key_dicts_stay_dicts(value):
    roundtrip(value)
    roundtrip([value, (value,)])


@settings(max_examples=200, deadline=None)
@given(values)
def test_property_slow_paths_agree_with_the_fast_ones(value):
    # The iterative paths serve callers with deep stacks; they must not differ.
    text = dumps(value)
    assert serialization_paths.encode_slowly(value) == text
    assert serialization_paths.diagnose(value) == json_depth(text)
    assert_same(serialization_paths.decode_tree(serialization_paths.parse(text)), loads(text))


tricky_text = st.text(st.sampled_from('[]{}"\\\n/éa\ud800'), max_size=6)
deep_json = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(tricky_text, inner, max_size=3),
                            inner.map(lambda x: [[[[[x]]]]])),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(deep_json, st.booleans())
def test_property_text_depth_is_exact(value, ascii_only):
    for indent in (None, 1):
        text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
        assert serialization._text_depth(text) == json_depth(text)


# Junk: JSON built of tag-like objects holding payloads of every kind, well-formed or not.
junk_tags = st.sampled_from(sorted(serialization._DECODERS) + ['!x', '!', 'k'])
junk_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
    st.integers(min_value=-2 ** 70, max_value=2 ** 70),
    st.sampled_from(['', 'aGk=', 'aGk', '!!', 'é', '00000000000000000000000000000001',
                     '2020-01-02', '2020-01-02T03:04:05+00:00', '03:04', '1.5', 'NaN', '-0']),
)
junk = st.recursive(
    junk_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.builds(lambda tag, payload: {tag: payload}, junk_tags, inner),
        st.dictionaries(junk_tags | st.text(max_size=2), inner, max_size=3),
    ),
    max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(junk)
def test_property_junk_decodes_or_raises_value_error(document):
    text = json.dumps(document)
    try:
        value = loads(text)
    except ValueError as exc:
        assert str(exc).startswith('malformed tagged JSON at '), exc
        with pytest.raises(ValueError, match='^malformed tagged JSON at '):
            serialization_paths.decode_tree(serialization_paths.parse(text))
    else:
        assert_same(serialization_paths.decode_tree(serialization_paths.parse(text)), value)


json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=12).map(json.dumps)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_texts, st.text('[]{}",:0123456789-+.eE tfnrul\\NaIiy', max_size=30),
                 json_texts.map(lambda t: t[:-1]), json_texts.map(lambda t: t + ' ,')))
def test_property_the_iterative_parser_reads_json_as_json_does(text):
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            serialization_paths.parse(text)
    else:
        assert_same(serialization_paths.parse(text), expected)


# -- module surface ------------------------------------------------------------------

def test_public_names():
    assert serialization.__all__ == ['dumps', 'loads', 'JSONTransport', 'JSON', 'MAX_DEPTH']
    assert MAX_DEPTH == 500
    assert isinstance(JSON, JSONTransport)
    assert JSONTransport().dumps((1,)) == dumps((1,))
    assert JSONTransport().loads('{"!t":[1]}') == (1,)


def test_module_docstring_examples():
    assert doctest.testmod(serialization).failed == 0
