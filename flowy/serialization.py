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
# cheap.  When it fails, serialization_paths.diagnose() walks the value again,
# slowly, to say where.
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
    from . import serialization_paths as paths  # only on this error path
    paths.diagnose(value)  # raises the precise error if it finds one
    if isinstance(failure, _Unsupported):
        # Only if the value changed under us (e.g. a fickle __json__).
        raise TypeError(paths.unsupported_message(failure.args[0], 'an unknown place'))
    if failure is None:
        raise ValueError(paths.too_deep_message(MAX_DEPTH + 1, 'an unknown place'))
    # The value is within the limit, so the stack was short: the caller's own
    # was already deep.  A __json__() method that recursed raises again here.
    return paths.encode_slowly(value)


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


def _article(name):
    return 'an' if name[:1].lower() in 'aeiou' else 'a'


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
    from . import serialization_paths as paths  # only for malformed or deep text
    return paths.decode(text)


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
