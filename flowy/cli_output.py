"""Tables for the ``flowy`` operations commands, for SWF executions and local runs alike.

The commands ``list``, ``history``, ``tasks`` and ``profile`` (``flowy ...`` and
``flowy local ...``) build rows (dicts with the same keys) and print them with
:func:`emit` in one of :data:`FORMATS`:

* ``table``: aligned columns for people (times in UTC, seconds with 3 decimals, long
  values clipped);
* ``json``: one JSON array of objects (times in ISO 8601, durations in seconds);
* ``csv``: a header line and one line per row (the :mod:`csv` module's quoting).

:func:`call_rows` turns the calls of a run (:class:`flowy.trace_render.TraceCall`
objects, one per attempt, which both engines give) into one row per task call with its
attempts and times; :func:`profile_rows` sums them up per activity (or child
workflow) type.
"""

import csv
import datetime
import json
import sys

from .history import call_id, is_builtin

__all__ = ['FORMATS', 'Column', 'emit', 'clip', 'iso_time', 'call_rows', 'profile_rows',
           'CALL_COLUMNS', 'PROFILE_COLUMNS']

FORMATS = ('table', 'json', 'csv')
CLIP = 60  # characters of a value shown in a table cell

_TASK_KINDS = ('activity', 'workflow')


class Column:
    """One column: the row key, its heading, and how a table shows its values
    (``'time'``, ``'seconds'``, ``'text'`` clipped, or ``'plain'``)."""

    __slots__ = ('key', 'heading', 'kind')

    def __init__(self, key, heading=None, kind='plain'):
        self.key = key
        self.heading = heading or key.upper().replace('_', ' ')
        self.kind = kind


def clip(text, width=CLIP):
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = ' '.join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + '...'


def _as_datetime(value):
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return None


def iso_time(value):
    """A time (datetime or UNIX seconds) in ISO 8601, UTC; None stays None."""
    found = _as_datetime(value)
    if found is None:
        return value
    return found.astimezone(datetime.timezone.utc).isoformat(timespec='milliseconds')


def _table_cell(value, kind):
    if value is None:
        return '-'
    if kind == 'time':
        found = _as_datetime(value)
        if found is not None:
            return found.astimezone(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S')
    if kind == 'seconds' and isinstance(value, (int, float)):
        return '%.3fs' % value
    if kind == 'text':
        return clip(value)
    if isinstance(value, float):
        return '%g' % value
    return str(value)


def _plain(value, kind):
    """A value for JSON and CSV: times in ISO 8601, the rest as it is."""
    if kind == 'time':
        return iso_time(value)
    if kind == 'seconds' and isinstance(value, float):
        return round(value, 6)
    return value


def emit(rows, columns, fmt='table', out=None, empty=None):
    """Print ``rows`` (dicts) under ``columns`` (:class:`Column`) as ``fmt``.

    ``empty``: a line printed instead of an empty table (JSON and CSV print an empty
    array and a header alone).
    """
    out = out or sys.stdout
    if fmt == 'json':
        data = [{c.key: _plain(row.get(c.key), c.kind) for c in columns} for row in rows]
        out.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + '\n')
    elif fmt == 'csv':
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow([c.key for c in columns])
        for row in rows:
            writer.writerow(['' if row.get(c.key) is None else _plain(row.get(c.key), c.kind)
                             for c in columns])
    elif fmt == 'table':
        if not rows and empty:
            out.write(empty + '\n')
            return
        table = [[c.heading for c in columns]]
        table += [[_table_cell(row.get(c.key), c.kind) for c in columns] for row in rows]
        widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
        for line in table:
            out.write('  '.join(cell.ljust(width)
                                for cell, width in zip(line, widths, strict=True)).rstrip()
                      + '\n')
    else:
        raise ValueError('unknown format %r: one of %s' % (fmt, ', '.join(FORMATS)))
    out.flush()


# -- calls and their profile ------------------------------------------------------------------

CALL_COLUMNS = [
    Column('call'), Column('type'), Column('kind'), Column('attempts'), Column('state'),
    Column('scheduled', kind='time'), Column('started', kind='time'),
    Column('closed', kind='time'), Column('queue_wait', 'QUEUE WAIT', 'seconds'),
    Column('run_time', 'RUN TIME', 'seconds'), Column('result', kind='text'),
    Column('error', kind='text'),
]

PROFILE_COLUMNS = [
    Column('type'), Column('kind'), Column('calls'), Column('attempts'),
    Column('completed'), Column('failures'), Column('timeouts'), Column('cancelled'),
    Column('running'), Column('total_run_time', 'TOTAL RUN', 'seconds'),
    Column('mean_run_time', 'MEAN RUN', 'seconds'), Column('max_run_time', 'MAX RUN', 'seconds'),
    Column('total_queue_wait', 'TOTAL WAIT', 'seconds'),
    Column('mean_queue_wait', 'MEAN WAIT', 'seconds'),
    Column('max_queue_wait', 'MAX WAIT', 'seconds'),
]


def _span(start, end):
    if start is None or end is None:
        return None
    return max(0.0, end - start)


def call_rows(calls, queue_known=True):
    """One row per task call (activity or child workflow) of a run, in the order made.

    ``calls``: :class:`~flowy.trace_render.TraceCall` objects, one per attempt (keys
    ``square-2-0``, ``square-2-1``: attempts 0 and 1 of the call ``square-2``); timers,
    recorded values and signals are left out.  Each row: ``call`` (the call's id),
    ``key`` (its last attempt's key), ``type`` (the activity or workflow name), ``kind``,
    ``attempts``, ``state`` (of the last attempt), ``scheduled`` (of the first attempt),
    ``started`` and ``closed`` (of the last), ``queue_wait`` and ``run_time`` (seconds,
    summed over the attempts: scheduled to started, and started to closed), ``result``
    (of a completed call) or ``error`` (the last failure's reason), and ``attempt_list``
    (each attempt's own times).  ``queue_known=False`` (local runs: the store records
    no start apart from the schedule) leaves the queue wait out.
    """
    rows, by_id = [], {}
    for call in calls:
        if call.kind not in _TASK_KINDS or is_builtin(call.key):
            continue
        ident = call_id(call.key)
        row = by_id.get(ident)
        if row is None:
            row = by_id[ident] = {
                'call': ident, 'type': call.dep, 'kind': call.kind, 'attempts': 0,
                'scheduled': call.scheduled, 'queue_wait': None, 'run_time': None,
                'attempt_list': []}
            rows.append(row)
        wait = _span(call.scheduled, call.started) if queue_known else None
        ran = _span(call.started, call.finished)
        row['attempts'] += 1
        row['attempt_list'].append({
            'key': call.key, 'state': call.state, 'scheduled': call.scheduled,
            'started': call.started, 'closed': call.finished, 'queue_wait': wait,
            'run_time': ran, 'detail': call.detail})
        if wait is not None:
            row['queue_wait'] = (row['queue_wait'] or 0.0) + wait
        if ran is not None:
            row['run_time'] = (row['run_time'] or 0.0) + ran
        row.update(key=call.key, state=call.state, started=call.started,
                   closed=call.finished)
        if call.state == 'completed':
            row['result'], row['error'] = call.detail, None
        elif call.state != 'running':
            row['result'], row['error'] = None, call.detail or call.state
        else:
            row.setdefault('result', None)
            row.setdefault('error', None)
    return rows


def profile_rows(rows):
    """The rows of :func:`call_rows` summed up per type, busiest (total run time) first.

    Each: ``type``, ``kind``, ``calls``, ``attempts``, ``completed`` (calls), and over
    the attempts ``failures``, ``timeouts``, ``cancelled``, ``running``; then the
    total, mean and max run time and queue wait of the attempts that have them.
    """
    found = {}
    for row in rows:
        entry = found.get((row['type'], row['kind']))
        if entry is None:
            entry = found[row['type'], row['kind']] = {
                'type': row['type'], 'kind': row['kind'], 'calls': 0, 'attempts': 0,
                'completed': 0, 'failures': 0, 'timeouts': 0, 'cancelled': 0,
                'running': 0, '_runs': [], '_waits': []}
        entry['calls'] += 1
        entry['completed'] += row['state'] == 'completed'
        for attempt in row['attempt_list']:
            entry['attempts'] += 1
            state = attempt['state']
            entry['failures'] += state == 'failed'
            entry['timeouts'] += state == 'timedout'
            entry['cancelled'] += state == 'cancelled'
            entry['running'] += state == 'running'
            if attempt['run_time'] is not None and state != 'running':
                entry['_runs'].append(attempt['run_time'])
            if attempt['queue_wait'] is not None:
                entry['_waits'].append(attempt['queue_wait'])
    result = []
    for entry in found.values():
        for name, values in (('run_time', entry.pop('_runs')),
                             ('queue_wait', entry.pop('_waits'))):
            entry['total_' + name] = sum(values) if values else None
            entry['mean_' + name] = sum(values) / len(values) if values else None
            entry['max_' + name] = max(values) if values else None
        result.append(entry)
    result.sort(key=lambda entry: -(entry['total_run_time'] or 0.0))
    return result
