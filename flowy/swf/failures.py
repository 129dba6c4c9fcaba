"""How flowy tells SWF why something failed, so that the whole reason comes back.

SWF keeps 256 characters of a failure's ``reason`` and 32,768 of its ``details``.  flowy
sends the reason cut to fit, and in the details a small JSON object holding the whole
reason and, apart from it, what helps a person more than a program (the traceback of
an activity, the hint of a decider), and the name of the type of the exception an
activity raised::

    {"flowy_reason": "the whole reason", "type": "ValueError",
     "more": "Traceback (most recent call last): ..."}

Readers (the parent of a failed child, ``flowy status``) take the reason from there, and
a person reading the history in the SWF console sees both.  Failures that came from
elsewhere are read the older way: details that begin with the reason hold it whole.
"""

import json

from .payload import MAX_DATA, MAX_REASON, cut_reason

__all__ = ['failure_fields', 'full_reason', 'extra_details', 'failure_type', 'keep_end']

_REASON = 'flowy_reason'
_MORE = 'more'
_TYPE = 'type'
_CUT_NOTE = '[the start of this text was cut]\n'


def _encode(reason, more, type_name=None):
    values = {_REASON: reason}
    if type_name:
        values[_TYPE] = type_name
    if more:
        values[_MORE] = more
    return json.dumps(values, ensure_ascii=False, separators=(',', ':'))


def failure_fields(reason, more=None, type_name=None):
    """``(reason, details)`` for an SWF failure: the reason cut to 256 characters, and
    details (at most 32,768 characters) holding the whole reason, ``more`` and
    ``type_name`` (the name of the type of the exception that failed the task); the
    details are None when the reason fits and there is nothing more.

    When both do not fit, the start of ``more`` is cut first (a traceback's end says
    most), then the reason (marked ``[cut]``).
    """
    reason = str(reason)
    if not more and not type_name and len(reason) <= MAX_REASON:
        return reason, None  # nothing the reason does not say
    type_name = type_name[:200] if type_name else None
    details = _encode(reason, more, type_name)
    while len(details) > MAX_DATA and more:
        room = len(more) - (len(details) - MAX_DATA)
        more = keep_end(more, room) if room > len(_CUT_NOTE) else None
        details = _encode(reason, more, type_name)
    kept = len(reason)
    while len(details) > MAX_DATA:  # escaping can make the text longer than the reason
        kept = max(0, min(kept - 1, kept * (MAX_DATA - 64) // len(details)))
        details = _encode(reason[:kept] + ' [cut]', None, type_name)
    return cut_reason(reason, MAX_REASON), details


def keep_end(text, limit=MAX_DATA):
    """``text`` in at most ``limit`` characters, its start cut (a traceback's end says
    most) and marked so."""
    if len(text) <= limit:
        return text
    return _CUT_NOTE + text[len(text) - (limit - len(_CUT_NOTE)):]


def _parsed(details):
    if not isinstance(details, str) or not details.startswith('{'):
        return None
    try:
        values = json.loads(details)
    except ValueError:
        return None
    if type(values) is dict and isinstance(values.get(_REASON), str):
        return values
    return None


def full_reason(reason, details, default=None):
    """The whole reason of a failure SWF reported with ``reason`` and ``details``."""
    values = _parsed(details)
    if values is not None:
        return values[_REASON]
    if not reason:
        return reason if default is None else default
    if isinstance(details, str) and len(details) > len(reason) and details.startswith(reason):
        return details
    return reason


def extra_details(details):
    """What the details hold beyond the reason (a traceback, a hint), or them as they are."""
    values = _parsed(details)
    if values is not None:
        return values.get(_MORE)
    return details


def failure_type(details):
    """The name of the type of the exception that failed a task, from its details; or
    None (not recorded, or not by flowy)."""
    values = _parsed(details)
    if values is None:
        return None
    found = values.get(_TYPE)
    return found if isinstance(found, str) and found else None
