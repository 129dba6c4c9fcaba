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
a single unknown ``"!..."`` key decodes as a plain dict.

Nesting is limited to :data:`MAX_DEPTH` levels of JSON arrays and objects,
the same limit both ways, so whatever ``dumps`` writes ``loads`` reads, however
deep the caller's own stack is.  A tuple, set, frozenset or timedelta takes
two levels, a dict written with ``!m`` three.  ``dumps`` raises an error that
names the place inside the value for deeper values, values that contain
themselves and unsupported types.  ``loads`` raises ``ValueError`` for any
text that is not tagged JSON: bad syntax, nesting deeper than the limit, or a
tag whose payload does not have the type and form in the table above (the
error names the place inside the value):

>>> loads('[1, {"!s": "abc"}]')  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
ValueError: malformed tagged JSON at [1]: cannot decode '!s' payload 'abc': expected a list...
"""

import binascii
import datetime
import decimal
import itertools
import json
import re
import reprlib
import uuid

__all__ = ['dumps', 'loads', 'JSONTransport', 'JSON', 'MAX_DEPTH']  # noqa: RUF022 - documented order

#: The deepest nesting of JSON arrays and objects that :func:`dumps` writes and
#: :func:`loads` reads.  Both check the text against this one number, so what one
#: process encodes any other decodes, whatever either's own stack depth.
MAX_DEPTH = 500
# Text no longer than this cannot hold MAX_DEPTH + 1 levels of brackets.
_SHALLOW_LENGTH = 2 * MAX_DEPTH + 1

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
# The walk keeps no path, depth or cycle bookkeeping so the common case stays
# cheap.  When it fails, _diagnose() walks the value again slowly to say where.
# Items are dispatched inline (rather than through a helper) to save a call
# and a stack frame per nesting level.

def _enc_list(value):
    return [x if type(x) in _PLAIN else _ENCODERS.get(type(x), _enc_other)(x)
            for x in value]


def _enc_tuple(value):
    return {'!t': [x if type(x) in _PLAIN else _ENCODERS.get(type(x), _enc_other)(x)
                   for x in value]}


def _plain_keys(value):
    """True if the dict ``value`` is written as a plain JSON object, not with ``!m``."""
    for key in value:
        if type(key) is not str:
            return False
    return not (len(value) == 1 and key.startswith('!'))


def _enc_dict(value):
    if not _plain_keys(value):
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
    value that contains itself or is nested deeper than :data:`MAX_DEPTH`; both
    name the place inside ``value``.
    """
    t = type(value)
    if t is str:
        return _encode_str(value)
    try:
        text = _encode_json(value if t in _PLAIN else _ENCODERS.get(t, _enc_other)(value))
    except (_Unsupported, RecursionError) as exc:
        failure = exc
    else:
        if len(text) <= _SHALLOW_LENGTH or not _nested_too_deeply(text):
            return text
        failure = None
    # Only reached on failure, so tracking paths costs nothing normally.  Done
    # outside the handler so the traceback shows the error, not our internals.
    _diagnose(value)  # raises the precise error if it finds one
    if isinstance(failure, _Unsupported):
        # Only if the value changed under us (e.g. a fickle __json__).
        raise TypeError(_unsupported_message(failure.args[0], 'an unknown place'))
    if failure is None:
        raise ValueError(_too_deep_message(MAX_DEPTH + 1, 'an unknown place'))
    # The value is within the limit, so the stack was short: the caller's own
    # was already deep.  A __json__() method that recursed raises again here.
    return _encode_slowly(value)


# -- diagnosis: the slow, path-tracking walk ----------------------------------

def _diagnose(root):
    """Walk ``root`` the way the encoder does and raise a precise error.

    Iterative, so that it works where the recursive encoder ran out of stack.
    If it finds nothing wrong, returns how deep the JSON text of ``root`` nests.
    """
    on_path = {}          # id -> path of the containers enclosing the current item
    leave = object()      # marker: a container's children are all done
    todo = [(root, None, 0)]
    deepest = 0
    while todo:
        value, path, depth = todo.pop()
        if value is leave:
            del on_path[id(path)]   # here ``path`` holds the finished container
            continue
        if type(value) in _PLAIN:
            continue
        if id(value) in on_path:
            raise ValueError(
                f'recursive structure at {_where(path)}: the value contains itself '
                f'(it is also at {_where(on_path[id(value)])}); JSON cannot express '
                f'cycles, so break the cycle or configure a different transport for this task')
        shape = _shape(value)
        if shape is None:
            raise TypeError(_unsupported_message(value, _where(path)))
        levels, children = shape
        depth += levels
        if depth > MAX_DEPTH:
            raise ValueError(_too_deep_message(depth, _where(path)))
        deepest = max(deepest, depth)
        if children:
            on_path[id(value)] = path
            # The marker holds the value itself, keeping its id from being
            # reused by a new object (e.g. a __json__() result) meanwhile.
            todo.append((leave, value, 0))
            todo.extend((child, (step, path), depth) for step, child in reversed(children))
    return deepest


def _shape(value):
    """How ``value`` is written: (JSON levels it opens, its (step, child) pairs in
    encoding order), or None if it is unsupported."""
    t = type(value)
    if t is list:
        return 1, [(('[{}]', i), x) for i, x in enumerate(value)]
    if t is tuple:
        return 2, [(('[{}]', i), x) for i, x in enumerate(value)]
    if t is dict:
        steps = []
        for i, (k, v) in enumerate(value.items()):
            steps.append((('<key #{}>', i), k))
            steps.append((('[{!r}]', k), v))
        return (1 if _plain_keys(value) else 3), steps
    if t is set or t is frozenset:
        return 2, [(('<item #{}>', i), x) for i, x in enumerate(_set_members(value))]
    if t is datetime.timedelta:
        return 2, []
    if t in _ENCODERS:
        return 1, []
    method = _json_method(value)
    if method is None:
        return None
    # Calls __json__() a second time; acceptable on this error-only path.
    return 0, [(('.__json__()', None), method())]


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
    base = next((b for b in t.__mro__ if b in _ENCODERS or b in _PLAIN), None)
    note = ''
    if base is not None:
        note = (f' (it is a subclass of {base.__qualname__}, and only the exact type '
                f'round-trips; convert it to a plain {base.__qualname__})')
    return f'cannot serialize {_article(name)} {name} at {where}{note}: {_HINT}'


def _article(name):
    return 'an' if name[:1].lower() in 'aeiou' else 'a'


def _too_deep_message(depth, where):
    return (f'value is nested too deeply to serialize: its JSON reaches {depth} levels at '
            f'{where}, more than the limit of {MAX_DEPTH} (flowy.serialization.MAX_DEPTH; '
            f'a tuple, set, frozenset or timedelta takes two levels, a dict with keys that '
            f'are not all str three): flatten the data or configure a different transport '
            f'for this task')


class _Piece(str):
    """Text that :func:`_encode_slowly` writes as it is."""

    __slots__ = ()


def _encode_slowly(root):
    """``dumps(root)`` without recursion, for a caller whose stack is nearly full."""
    parts = []
    todo = [(root, 0)]
    while todo:
        value, depth = todo.pop()
        t = type(value)
        if t is _Piece:
            parts.append(value)
            continue
        if t is str:
            parts.append(_encode_str(value))
            continue
        if t in _PLAIN:
            parts.append(_encode_json(value))
            continue
        if t is dict and _plain_keys(value):
            levels, start, end = 1, '{', '}'
            items = [[_Piece(_encode_str(k) + ':'), v] for k, v in value.items()]
        elif t is dict:
            levels, start, end = 3, '{"!m":[', ']}'
            items = [[_Piece('['), k, _Piece(','), v, _Piece(']')] for k, v in value.items()]
        elif t in _CONTAINERS:
            levels = 1 if t is list else 2
            start = _CONTAINERS[t]
            end = ']' if t is list else ']}'
            members = value if t is list or t is tuple else _set_members(value)
            items = [[x] for x in members]
        elif t in _ENCODERS:
            levels, start, end, items = (2 if t is datetime.timedelta else 1), '', '', ()
            parts.append(_encode_json(_ENCODERS[t](value)))
        else:
            method = _json_method(value)
            if method is None:  # only if the value changed since _diagnose() saw it
                raise TypeError(_unsupported_message(value, 'an unknown place'))
            todo.append((method(), depth))
            continue
        depth += levels
        if depth > MAX_DEPTH:
            raise ValueError(_too_deep_message(depth, 'an unknown place'))
        parts.append(start)
        todo.append((_Piece(end), depth))
        for index in range(len(items) - 1, -1, -1):
            todo.extend((x, depth) for x in reversed(items[index]))
            if index:
                todo.append((_Piece(','), depth))
    return ''.join(parts)


_CONTAINERS = {list: '[', tuple: '{"!t":[', set: '{"!s":[', frozenset: '{"!fs":['}


# -- how deep a JSON text nests -----------------------------------------------

_SQUARE = bytes.maketrans(b'{}', b'[]')
_NOT_MARKS = bytes(c for c in range(256) if c not in b'[]{}"')
_STEP = tuple(1 if c == ord('[') else -1 for c in range(256))


def _nested_too_deeply(text):
    """True if the JSON ``text`` nests arrays and objects more than MAX_DEPTH deep.

    Exact for valid JSON.  One pass of str.count decides unless the text holds more
    brackets than the limit; then :func:`_text_depth` makes a few passes, all in C.
    """
    return text.count('[') + text.count('{') > MAX_DEPTH and _text_depth(text) > MAX_DEPTH


def _text_depth(text):
    """How deep the valid JSON ``text`` nests arrays and objects."""
    if '\\' in text:
        # JSON escapes no bracket, so once escaped backslashes and quotes are gone,
        # every quote left opens or closes a string.
        text = text.replace('\\\\', '').replace('\\"', '')
    marks = text.encode('utf-8', 'surrogatepass').translate(_SQUARE, _NOT_MARKS)
    # Two quotes side by side are an empty string, or the end of one string and the
    # start of the next with no bracket between: either way nothing outside strings
    # is lost, and only the strings that hold brackets keep their quotes.
    marks = marks.replace(b'""', b'')
    if b'"' in marks:
        marks = b''.join(marks.split(b'"')[::2])
    return _bracket_depth(marks)


def _bracket_depth(brackets):
    """How deep the balanced ``[`` and ``]`` of ``brackets`` nest."""
    # Each pass takes away the innermost pairs, exactly one level; everyday data is
    # gone after a few, and a count finishes whatever deep chains are left.
    for passes in range(16):
        if not brackets:
            return passes
        brackets = brackets.replace(b'[]', b'')
    return 16 + max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


# -- decoding -----------------------------------------------------------------
#
# The fast path is the C decoder with an object hook that decodes each tag,
# bottom-up.  A malformed tag, or a caller whose stack is too deep for the C
# decoder, sends loads() to the slow path: an iterative parse to plain JSON, then
# an iterative walk that decodes the tags and knows where it is.

class _Malformed(Exception):
    """Raised by the object hook; loads() then finds the place and the reason."""


def _kind(value):
    if value is None:
        return 'null'
    name = type(value).__name__
    return f'{_article(name)} {name}'


def _expect(payload, kind, what):
    if type(payload) is not kind:
        raise ValueError(f'expected {what}, got {_kind(payload)}')


def _dec_tuple(payload):
    _expect(payload, list, 'a list of items')
    return tuple(payload)


def _dec_set(payload):
    _expect(payload, list, 'a list of members')
    return set(payload)


def _dec_frozenset(payload):
    _expect(payload, list, 'a list of members')
    return frozenset(payload)


def _dec_bytes(payload):
    _expect(payload, str, 'base64 text')
    # Strict, so that corrupted text fails instead of silently losing bytes.
    return binascii.a2b_base64(payload, strict_mode=True)


_HEX32 = re.compile(r'[0-9a-fA-F]{32}')


def _dec_uuid(payload):
    _expect(payload, str, '32 hex digits')
    # uuid.UUID alone also takes braces, dashes, '0x' and non-ASCII digits.
    if _HEX32.fullmatch(payload) is None:
        raise ValueError('expected 32 hex digits')
    return uuid.UUID(hex=payload)


def _dec_datetime(payload):
    _expect(payload, str, 'ISO 8601 text')
    return _fix_offset(datetime.datetime.fromisoformat(payload), payload)


def _dec_date(payload):
    _expect(payload, str, 'ISO 8601 text')
    return datetime.date.fromisoformat(payload)


def _dec_time(payload):
    _expect(payload, str, 'ISO 8601 text')
    return _fix_offset(datetime.time.fromisoformat(payload), payload)


# Python 3.11 parses offsets like "+00:00:00.000001" (under one second) as UTC.
_UTC = datetime.timezone.utc


def _fix_offset(value, text):
    tail = text[-16:]
    if value.tzinfo is _UTC and tail[:1] in ('+', '-') and tail[9:10] == '.':
        micros = int(tail[10:]) if tail[0] == '+' else -int(tail[10:])
        value = value.replace(tzinfo=datetime.timezone(datetime.timedelta(microseconds=micros)))
    return value


def _dec_timedelta(payload):
    if type(payload) is not list or len(payload) != 3 or not set(map(type, payload)) <= {int}:
        raise ValueError(f'expected [days, seconds, microseconds] (three integers), '
                         f'got {_kind(payload)}')
    return datetime.timedelta(*payload)


def _dec_decimal(payload):
    _expect(payload, str, 'the number as text')
    return decimal.Decimal(payload)


def _dec_map(payload):
    _expect(payload, list, 'a list of [key, value] pairs')
    # Checked in C: dict() alone would also take two-character strings as pairs.
    if not set(map(type, payload)) <= {list} or not set(map(len, payload)) <= {2}:
        index, item = next((i, x) for i, x in enumerate(payload)
                           if type(x) is not list or len(x) != 2)
        length = f' of length {len(item)}' if type(item) is list else ''
        raise ValueError(f'expected a list of [key, value] pairs, but item #{index} is '
                         f'{_kind(item)}{length}')
    return dict(payload)


_DECODERS = {
    '!t': _dec_tuple,
    '!b': _dec_bytes,
    '!u': _dec_uuid,
    '!s': _dec_set,
    '!fs': _dec_frozenset,
    '!dt': _dec_datetime,
    '!d': _dec_date,
    '!tm': _dec_time,
    '!td': _dec_timedelta,
    '!dec': _dec_decimal,
    '!m': _dec_map,
}

# What a decoder raises for a payload it cannot use (unhashable members give a
# TypeError, out-of-range numbers an OverflowError, bad decimals InvalidOperation).
_PAYLOAD_ERRORS = (ValueError, TypeError, ArithmeticError)


def _object_hook(obj):
    # Called bottom-up for every JSON object, so payloads arrive decoded.
    if len(obj) == 1:
        for tag, payload in obj.items():
            decode = _DECODERS.get(tag)
            if decode is not None:
                try:
                    return decode(payload)
                except _PAYLOAD_ERRORS:
                    raise _Malformed from None
    # Unknown tags decode as plain dicts so newer writers do not crash readers.
    return obj


_decoder = json.JSONDecoder(object_hook=_object_hook)
_decode_json = _decoder.decode
_scan_once = _decoder.scan_once


def loads(text):
    """Return the value encoded in tagged-JSON ``text`` (see the module docs).

    Raises ``ValueError`` (``json.JSONDecodeError`` for bad syntax) if the text
    is not valid tagged JSON, naming the place of a malformed tag, and
    ``TypeError`` if ``text`` is not a str.
    """
    if type(text) is not str and not isinstance(text, str):
        raise TypeError(f'tagged JSON is text: loads() needs a str, not {_kind(text)}')
    if len(text) > _SHALLOW_LENGTH and _nested_too_deeply(text):
        raise ValueError(f'JSON text is nested too deeply to decode: more than the limit of '
                         f'{MAX_DEPTH} levels of arrays and objects '
                         f'(flowy.serialization.MAX_DEPTH)')
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
    except (_Malformed, RecursionError):
        pass
    # Outside the handler, so that an error shows the place, not our internals.
    return _decode_tree(_parse(text))


# -- the slow path: no recursion, and a path to every place ---------------------

_WHITESPACE = re.compile(r'[ \t\n\r]*')
_NUMBER = re.compile(r'(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?')
_CONSTANTS = (('null', None), ('true', True), ('false', False), ('NaN', float('nan')),
              ('Infinity', float('inf')), ('-Infinity', float('-inf')))
_scanstring = json.decoder.scanstring


def _parse(text):
    """Plain JSON (no tags decoded), read as ``json.loads`` reads it but without recursion."""
    skip = _WHITESPACE.match
    open_ = []   # [container, key of the value being read] of each unclosed array/object
    pos = skip(text).end()
    while True:
        char = text[pos:pos + 1]
        if char == '[' or char == '{':
            pos = skip(text, pos + 1).end()
            if text[pos:pos + 1] == (']' if char == '[' else '}'):
                value = [] if char == '[' else {}
                pos += 1
            elif char == '[':
                open_.append([[], None])
                continue
            else:
                key, pos = _parse_key(text, pos)
                open_.append([{}, key])
                continue
        elif char == '"':
            value, pos = _scanstring(text, pos + 1, True)
        else:
            match = _NUMBER.match(text, pos)
            if match is not None:
                integer, fraction, exponent = match.groups()
                if fraction or exponent:
                    value = float(integer + (fraction or '') + (exponent or ''))
                else:
                    value = int(integer)
                pos = match.end()
            else:
                for name, constant in _CONSTANTS:
                    if text.startswith(name, pos):
                        value = constant
                        pos += len(name)
                        break
                else:
                    raise json.JSONDecodeError('Expecting value', text, pos)
        # Store the value, then close every container that ends right after it.
        while True:
            if not open_:
                end = skip(text, pos).end()
                if end != len(text):
                    raise json.JSONDecodeError('Extra data', text, end)
                return value
            frame = open_[-1]
            container = frame[0]
            if type(container) is list:
                container.append(value)
                close = ']'
            else:
                container[frame[1]] = value
                close = '}'
            pos = skip(text, pos).end()
            char = text[pos:pos + 1]
            if char == ',':
                pos = skip(text, pos + 1).end()
                if close == '}':
                    frame[1], pos = _parse_key(text, pos)
                break
            if char != close:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
            pos += 1
            open_.pop()
            value = container


def _parse_key(text, pos):
    """Read ``"key":`` at ``pos``; return the key and where its value starts."""
    if text[pos:pos + 1] != '"':
        raise json.JSONDecodeError('Expecting property name enclosed in double quotes',
                                   text, pos)
    key, pos = _scanstring(text, pos + 1, True)
    pos = _WHITESPACE.match(text, pos).end()
    if text[pos:pos + 1] != ':':
        raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
    return key, _WHITESPACE.match(text, pos + 1).end()


class _Key:
    """A ``!m`` key in a path, shown decoded (it is, by the time a path is shown)."""

    __slots__ = ('raw', 'index')

    def __init__(self, raw, index):
        self.raw = raw
        self.index = index

    def __repr__(self):
        try:
            return repr(_decode_tree(self.raw))
        except ValueError:
            return f'<key #{self.index}>'


_VISIT, _LIST, _DICT, _TAG = range(4)
_STEPS = {'!t': '[{}]', '!s': '<item #{}>', '!fs': '<item #{}>'}
_short_repr = reprlib.Repr()
_short_repr.maxstring = _short_repr.maxother = 60


def _decode_tree(root):
    """Decode the tags in the plain JSON ``root``, bottom-up and without recursion.

    Raises ValueError naming the place (as the encoder names places) of the first
    malformed tag.
    """
    done = []                    # decoded values; a container's items end up on top
    todo = [(_VISIT, root, None)]
    while todo:
        action, node, path = todo.pop()
        if action is _VISIT:
            kind = type(node)
            if kind is list:
                todo.append((_LIST, len(node), path))
                todo.extend((_VISIT, node[i], (('[{}]', i), path))
                            for i in range(len(node) - 1, -1, -1))
            elif kind is not dict:
                done.append(node)
            elif len(node) == 1 and next(iter(node)) in _DECODERS:
                [(tag, payload)] = node.items()
                todo.append((_TAG, tag, path))
                _visit_payload(todo, tag, payload, path)
            else:
                todo.append((_DICT, node, path))
                todo.extend((_VISIT, node[key], (('[{!r}]', key), path))
                            for key in reversed(node))
        elif action is _LIST:
            items = done[len(done) - node:]
            del done[len(done) - node:]
            done.append(items)
        elif action is _DICT:
            values = done[len(done) - len(node):]
            del done[len(done) - len(node):]
            done.append(dict(zip(node, values, strict=True)))
        else:
            payload = done.pop()
            try:
                done.append(_DECODERS[node](payload))
                continue
            except _PAYLOAD_ERRORS as exc:
                reason = exc
            # Raised outside the handler: the decoder's own exception is no news.
            raise ValueError(f'malformed tagged JSON at {_where(path)}: cannot decode '
                             f'{node!r} payload {_short_repr.repr(payload)}: {reason}')
    return done[0]


def _visit_payload(todo, tag, payload, path):
    """Plan the decoding of a tag's payload, naming its parts as the decoded value's."""
    if type(payload) is list and tag in _STEPS:
        step = _STEPS[tag]
        todo.append((_LIST, len(payload), path))
        todo.extend((_VISIT, payload[i], ((step, i), path))
                    for i in range(len(payload) - 1, -1, -1))
    elif (type(payload) is list and tag == '!m'
          and all(type(pair) is list and len(pair) == 2 for pair in payload)):
        todo.append((_LIST, len(payload), path))
        for index in range(len(payload) - 1, -1, -1):
            key, value = payload[index]
            todo.append((_LIST, 2, path))
            todo.append((_VISIT, value, (('[{!r}]', _Key(key, index)), path)))
            todo.append((_VISIT, key, (('<key #{}>', index), path)))
    else:
        todo.append((_VISIT, payload, (('<{!r} payload>', tag), path)))


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
