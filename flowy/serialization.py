"""Tagged JSON: the default way flowy sends values across task boundaries.

A *transport* is any object with two methods, ``dumps(value) -> str`` and
``loads(text) -> value``.  Flowy lets each task choose its transport; this
module provides the default one, :data:`JSON`, an instance of
:class:`JSONTransport`.

Plain JSON loses Python types (tuples become lists, ``{1: 'a'}`` gets string
keys, bytes and dates are not representable at all).  Tagged JSON keeps them:
a value that plain JSON cannot express is written as a JSON object with
exactly one key, the *tag*, whose value is the payload:

========  =====================  ==========================================
tag       type                   payload
========  =====================  ==========================================
``!t``    tuple                  list of items
``!b``    bytes, bytearray       base64 text
``!u``    uuid.UUID              32 hex digits
``!s``    set                    list of items
``!fs``   frozenset              list of items
``!dt``   datetime.datetime      ``isoformat()`` text
``!d``    datetime.date          ``isoformat()`` text
``!tm``   datetime.time          ``isoformat()`` text
``!td``   datetime.timedelta     ``[days, seconds, microseconds]``
``!dec``  decimal.Decimal        ``str()`` text
``!m``    dict                   list of ``[key, value]`` pairs
========  =====================  ==========================================

``None``, bools, ints, floats (including nan and infinities, spelled as
Python's :mod:`json` does), str and lists are written as plain JSON.  A dict
is written as a plain JSON object unless its keys are not all str, or it has
exactly one key and that key starts with ``"!"`` (so it would be mistaken for
a tag); such dicts use ``!m``.  Tags nest freely:

>>> dumps((1, b'hi', {2: 'x'}, ['y']))
'{"!t":[1,{"!b":"aGk="},{"!m":[[2,"x"]]},["y"]]}'
>>> loads(_)
(1, b'hi', {2: 'x'}, ['y'])

For every supported value ``loads(dumps(x)) == x`` with the same types all
the way down, with these documented exceptions:

* a ``bytearray`` comes back as ``bytes``;
* an object with a callable ``__json__()`` method is written as whatever that
  method returns (encoded recursively); this is one-way, ``loads`` returns the
  encoded form, not the original object;
* only the exact built-in types above are supported: subclasses (``IntEnum``,
  named tuples, ``OrderedDict``...) raise ``TypeError`` because they could not
  come back as the same type; give them a ``__json__()`` method instead;
* a datetime or time keeps its UTC offset but not its tzinfo object, so a
  ``zoneinfo`` datetime comes back with a fixed-offset ``timezone`` (equal, as
  aware datetimes compare by instant); ``fold`` is not kept.

Output is compact, ASCII-only and deterministic for equal inputs: dict keys
stay in their given order, and set members are sorted when they are mutually
sortable (otherwise they are written in iteration order, which for mixed
types or sets of sets can differ between equal sets).  A JSON object with
a single unknown ``"!..."`` key decodes as a plain dict.  Nesting is limited
to a few hundred levels by Python's recursion limit; deeper values, values
that contain themselves, and unsupported types raise an error that names the
place inside the value where the problem is.
"""

import binascii
import datetime
import decimal
import json
import sys
import uuid

__all__ = ['dumps', 'loads', 'JSONTransport', 'JSON']  # noqa: RUF022 - documented order

# Values of these exact types are already JSON; the hot loops below test
# membership here before paying for a function call.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _never_called(obj):
    # The walk below only hands JSON-able builtins to the encoder.
    raise TypeError(f'internal error: {type(obj).__qualname__} reached the JSON encoder')


# Built once: json.dumps/json.loads with keyword arguments build a new
# encoder/decoder on every call, which for small values costs more than the
# encoding itself.  ASCII output survives any byte channel, even for strings
# holding lone surrogates.  The walk below always builds a fresh tree, so the
# encoder's own cycle check (markers) would be wasted work.
_encode_str = json.encoder.encode_basestring_ascii
if json.encoder.c_make_encoder is not None:
    _c_encoder = json.encoder.c_make_encoder(
        None, _never_called, _encode_str, None, ':', ',', False, False, True)

    def _encode_json(obj):
        return ''.join(_c_encoder(obj, 0))
else:  # pragma: no cover - Python built without the _json accelerator
    _encode_json = json.JSONEncoder(
        separators=(',', ':'), check_circular=False, default=_never_called).encode

_HINT = ('use lists, dicts, str, numbers, tuples, bytes, sets, UUIDs, dates, '
         'or give the object a __json__() method, '
         'or configure a different transport for this task')


class _Unsupported(Exception):
    """Raised inside the fast walk; dumps() turns it into a helpful TypeError."""


# -- encoding: a recursive walk to JSON-able builtins -------------------------
#
# The walk keeps no path and no cycle bookkeeping so the common case stays
# cheap.  When it fails, _diagnose() walks the value again slowly to say where.
# Items are dispatched inline (rather than through a helper) to save a call
# and a stack frame per nesting level.

def _enc_list(value):
    return [x if type(x) in _PLAIN else _ENCODERS.get(type(x), _enc_other)(x)
            for x in value]


def _enc_tuple(value):
    return {'!t': [x if type(x) in _PLAIN else _ENCODERS.get(type(x), _enc_other)(x)
                   for x in value]}


def _enc_dict(value):
    for key in value:
        if type(key) is not str:
            return _enc_pairs(value)
    if len(value) == 1 and key.startswith('!'):
        return _enc_pairs(value)
    return {k: v if type(v) in _PLAIN else _ENCODERS.get(type(v), _enc_other)(v)
            for k, v in value.items()}


def _enc_pairs(value):
    return {'!m': [[k if type(k) in _PLAIN else _ENCODERS.get(type(k), _enc_other)(k),
                    v if type(v) in _PLAIN else _ENCODERS.get(type(v), _enc_other)(v)]
                   for k, v in value.items()]}


def _set_members(value):
    # Sorting makes equal sets encode identically whatever their history.
    try:
        return sorted(value)
    except (TypeError, ValueError, ArithmeticError):  # e.g. {1, 'a'}, Decimal NaN
        return list(value)


def _enc_set(value):
    return {'!s': _enc_list(_set_members(value))}


def _enc_frozenset(value):
    return {'!fs': _enc_list(_set_members(value))}


def _enc_bytes(value):
    return {'!b': binascii.b2a_base64(value, newline=False).decode('ascii')}


def _enc_other(value):
    method = _json_method(value)
    if method is None:
        raise _Unsupported(value)
    result = method()
    return result if type(result) in _PLAIN else _ENCODERS.get(type(result), _enc_other)(result)


def _json_method(value):
    method = getattr(value, '__json__', None)
    # A class defining __json__ is not itself an instance that can be encoded.
    if method is None or not callable(method) or isinstance(value, type):
        return None
    return method


_ENCODERS = {
    list: _enc_list,
    tuple: _enc_tuple,
    dict: _enc_dict,
    set: _enc_set,
    frozenset: _enc_frozenset,
    bytes: _enc_bytes,
    bytearray: _enc_bytes,
    uuid.UUID: lambda v: {'!u': v.hex},
    datetime.datetime: lambda v: {'!dt': v.isoformat()},
    datetime.date: lambda v: {'!d': v.isoformat()},
    datetime.time: lambda v: {'!tm': v.isoformat()},
    datetime.timedelta: lambda v: {'!td': [v.days, v.seconds, v.microseconds]},
    decimal.Decimal: lambda v: {'!dec': str(v)},
}


def dumps(value):
    """Return ``value`` as compact tagged-JSON text.

    Raises ``TypeError`` for an unsupported type and ``ValueError`` for a
    value that contains itself or is nested too deeply; both name the place
    inside ``value``.
    """
    t = type(value)
    if t is str:
        return _encode_str(value)
    try:
        return _encode_json(value if t in _PLAIN else _ENCODERS.get(t, _enc_other)(value))
    except (_Unsupported, RecursionError) as exc:
        failure = exc
    # Only reached on failure, so tracking paths costs nothing normally.  Done
    # outside the handler so the traceback shows the error, not our internals.
    depth, path = _diagnose(value)  # raises the precise error if it finds one
    if isinstance(failure, _Unsupported):
        # Only if the value changed under us (e.g. a fickle __json__).
        raise TypeError(_unsupported_message(failure.args[0], 'an unknown place'))
    if depth < sys.getrecursionlimit() // 4:
        raise failure  # not our nesting: e.g. a __json__() method that recursed
    raise ValueError(_too_deep_message(depth, path))


# -- diagnosis: the slow, path-tracking walk ----------------------------------

def _diagnose(root):
    """Walk ``root`` the way the encoder does and raise a precise error.

    Iterative, so that it works where the recursive encoder ran out of stack.
    If it finds nothing wrong, returns the depth and path of the deepest item.
    """
    limit = sys.getrecursionlimit()
    on_path = {}          # id -> path of the containers enclosing the current item
    leave = object()      # marker: a container's children are all done
    todo = [(root, None, 0)]
    deepest = (0, None)
    while todo:
        value, path, depth = todo.pop()
        if value is leave:
            del on_path[id(path)]   # here ``path`` holds the finished container
            continue
        t = type(value)
        if t in _PLAIN:
            continue
        if id(value) in on_path:
            raise ValueError(
                f'recursive structure at {_where(path)}: the value contains itself '
                f'(it is also at {_where(on_path[id(value)])}); JSON cannot express '
                f'cycles, so break the cycle or configure a different transport for this task')
        if depth >= limit:
            raise ValueError(_too_deep_message(depth, path))
        if depth > deepest[0]:
            deepest = (depth, path)
        children = _children(value)
        if children is None:
            raise TypeError(_unsupported_message(value, _where(path)))
        if children:
            on_path[id(value)] = path
            # The marker holds the value itself, keeping its id from being
            # reused by a new object (e.g. a __json__() result) meanwhile.
            todo.append((leave, value, 0))
            todo.extend((child, (step, path), depth + 1) for step, child in reversed(children))
    return deepest


def _children(value):
    """(step, child) pairs in encoding order; [] for leaves, None if unsupported."""
    t = type(value)
    if t is list or t is tuple:
        return [(('[{}]', i), x) for i, x in enumerate(value)]
    if t is dict:
        steps = []
        for i, (k, v) in enumerate(value.items()):
            steps.append((('<key #{}>', i), k))
            steps.append((('[{!r}]', k), v))
        return steps
    if t is set or t is frozenset:
        return [(('<item #{}>', i), x) for i, x in enumerate(_set_members(value))]
    if t in _ENCODERS:
        return []
    method = _json_method(value)
    if method is None:
        return None
    # Calls __json__() a second time; acceptable on this error-only path.
    return [(('.__json__()', None), method())]


def _where(path):
    if path is None:
        return 'the top level'
    steps = []
    while path is not None:
        (template, arg), path = path
        text = template.format(arg)
        steps.append(text if len(text) < 50 else text[:45] + '...' + text[-1])
    steps.reverse()
    if len(steps) > 16:
        steps[8:-8] = [f'...({len(steps) - 16} more)...']
    return ''.join(steps)


def _unsupported_message(value, where):
    t = type(value)
    name = t.__qualname__.rpartition('<locals>.')[2]
    article = 'an' if name[:1].lower() in 'aeiou' else 'a'
    base = next((b for b in t.__mro__ if b in _ENCODERS or b in _PLAIN), None)
    note = ''
    if base is not None:
        note = (f' (it is a subclass of {base.__qualname__}, and only the exact type '
                f'round-trips; convert it to a plain {base.__qualname__})')
    return f'cannot serialize {article} {name} at {where}{note}: {_HINT}'


def _too_deep_message(depth, path):
    return (f'value is nested too deeply to serialize ({depth} levels deep at {_where(path)}): '
            f'flatten the data or configure a different transport for this task')


# -- decoding -----------------------------------------------------------------

def _dec_bytes(payload):
    # Strict, so that corrupted text fails instead of silently losing bytes.
    return binascii.a2b_base64(payload, strict_mode=True)


def _dec_timedelta(payload):
    days, seconds, microseconds = payload
    return datetime.timedelta(days, seconds, microseconds)


# Python 3.11 parses offsets like "+00:00:00.000001" (under one second) as UTC.
_UTC = datetime.timezone.utc


def _dec_datetime(text):
    return _fix_offset(datetime.datetime.fromisoformat(text), text)


def _dec_time(text):
    return _fix_offset(datetime.time.fromisoformat(text), text)


def _fix_offset(value, text):
    tail = text[-16:]
    if value.tzinfo is _UTC and tail[:1] in ('+', '-') and tail[9:10] == '.':
        micros = int(tail[10:]) if tail[0] == '+' else -int(tail[10:])
        value = value.replace(tzinfo=datetime.timezone(datetime.timedelta(microseconds=micros)))
    return value


_DECODERS = {
    '!t': tuple,
    '!b': _dec_bytes,
    '!u': lambda p: uuid.UUID(hex=p),
    '!s': set,
    '!fs': frozenset,
    '!dt': _dec_datetime,
    '!d': datetime.date.fromisoformat,
    '!tm': _dec_time,
    '!td': _dec_timedelta,
    '!dec': decimal.Decimal,
    '!m': dict,
}


def _object_hook(obj):
    # Called bottom-up for every JSON object, so payloads arrive decoded.
    if len(obj) == 1:
        for tag, payload in obj.items():
            decode = _DECODERS.get(tag)
            if decode is not None:
                try:
                    return decode(payload)
                except (TypeError, ValueError, ArithmeticError) as exc:
                    raise ValueError(f'malformed tagged JSON: cannot decode {tag!r} '
                                     f'payload {payload!r:.80}: {exc}') from None
    # Unknown tags decode as plain dicts so newer writers do not crash readers.
    return obj


_decoder = json.JSONDecoder(object_hook=_object_hook)
_decode_json = _decoder.decode
_scan_once = _decoder.scan_once


def loads(text):
    """Return the value encoded in tagged-JSON ``text`` (see the module docs).

    Raises ``ValueError`` (``json.JSONDecodeError`` for bad syntax) if the text
    is not valid tagged JSON.
    """
    try:
        # The scanner alone decodes compact text in half the time of decode(); any
        # text it does not consume exactly (spaces, errors) takes the full path.
        if type(text) is str:
            try:
                value, end = _scan_once(text, 0)
            except StopIteration:
                pass
            else:
                if end == len(text):
                    return value
        return _decode_json(text)
    except RecursionError:
        raise ValueError('JSON text is nested too deeply to decode') from None


class JSONTransport:
    """The tagged-JSON transport: ``dumps`` and ``loads`` of this module."""

    __slots__ = ()

    def dumps(self, value):
        return dumps(value)

    def loads(self, text):
        return loads(text)

    def __repr__(self):
        return 'JSONTransport()'


JSON = JSONTransport()
