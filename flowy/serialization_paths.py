"""Tagged JSON the careful way: without recursion, and with a path to every place.

:mod:`flowy.serialization` encodes and decodes with Python's recursive C encoder and
decoder, which is fast but cannot say where in a value a problem is, and fails where
the caller's stack is already deep.  When that happens it comes here: these walks
keep their own stack and the path to each place, so an error names the place
(``[2]['a']``) and any value within :data:`~flowy.serialization.MAX_DEPTH` encodes
and decodes whatever the caller's stack depth.
"""

import datetime
import json
import re
import reprlib

from .serialization import (
    _DECODERS,
    _ENCODERS,
    _HINT,
    _PAYLOAD_ERRORS,
    _PLAIN,
    MAX_DEPTH,
    _article,
    _encode_json,
    _encode_str,
    _json_method,
    _plain_keys,
    _set_members,
)

__all__ = ['diagnose', 'encode', 'decode', 'unsupported_message', 'too_deep_message',
           'encode_slowly', 'parse', 'decode_tree']


def encode(value):
    """``value`` as tagged-JSON text, or the precise error naming the place."""
    diagnose(value)
    return encode_slowly(value)


def decode(text):
    """The value of tagged-JSON ``text``, or a ValueError naming the malformed place."""
    return decode_tree(parse(text))


# -- diagnosis: the slow, path-tracking walk ----------------------------------

def diagnose(root):
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
            raise TypeError(unsupported_message(value, _where(path)))
        levels, children = shape
        depth += levels
        if depth > MAX_DEPTH:
            raise ValueError(too_deep_message(depth, _where(path)))
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


def unsupported_message(value, where):
    t = type(value)
    name = t.__qualname__.rpartition('<locals>.')[2]
    base = next((b for b in t.__mro__ if b in _ENCODERS or b in _PLAIN), None)
    note = ''
    if base is not None:
        note = (f' (it is a subclass of {base.__qualname__}, and only the exact type '
                f'round-trips; convert it to a plain {base.__qualname__})')
    return f'cannot serialize {_article(name)} {name} at {where}{note}: {_HINT}'


def too_deep_message(depth, where):
    return (f'value is nested too deeply to serialize: its JSON reaches {depth} levels at '
            f'{where}, more than the limit of {MAX_DEPTH} (flowy.serialization.MAX_DEPTH; '
            f'a tuple, set, frozenset or timedelta takes two levels, a dict with keys that '
            f'are not all str three): flatten the data or configure a different transport '
            f'for this task')


class _Piece(str):
    """Text that :func:`encode_slowly` writes as it is."""

    __slots__ = ()


def encode_slowly(root):
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
            if method is None:  # only if the value changed since diagnose() saw it
                raise TypeError(unsupported_message(value, 'an unknown place'))
            todo.append((method(), depth))
            continue
        depth += levels
        if depth > MAX_DEPTH:
            raise ValueError(too_deep_message(depth, 'an unknown place'))
        parts.append(start)
        todo.append((_Piece(end), depth))
        for index in range(len(items) - 1, -1, -1):
            todo.extend((x, depth) for x in reversed(items[index]))
            if index:
                todo.append((_Piece(','), depth))
    return ''.join(parts)


_CONTAINERS = {list: '[', tuple: '{"!t":[', set: '{"!s":[', frozenset: '{"!fs":['}


# -- the slow path: no recursion, and a path to every place ---------------------

_WHITESPACE = re.compile(r'[ \t\n\r]*')
_NUMBER = re.compile(r'(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?')
_CONSTANTS = (('null', None), ('true', True), ('false', False), ('NaN', float('nan')),
              ('Infinity', float('inf')), ('-Infinity', float('-inf')))
_scanstring = json.decoder.scanstring


def parse(text):
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
            return repr(decode_tree(self.raw))
        except ValueError:
            return f'<key #{self.index}>'


_VISIT, _LIST, _DICT, _TAG = range(4)
_STEPS = {'!t': '[{}]', '!s': '<item #{}>', '!fs': '<item #{}>'}
_short_repr = reprlib.Repr()
_short_repr.maxstring = _short_repr.maxother = 60


def decode_tree(root):
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
