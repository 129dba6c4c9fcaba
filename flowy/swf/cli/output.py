"""What the commands print: results as JSON, and the status of an execution."""

import json
import sys

from ...serialization import dumps

__all__ = ['to_json', 'print_result', 'print_status']


def to_json(value):
    """``value`` as JSON for people: plain JSON when it can be, tagged JSON otherwise."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return dumps(value)


def _tagged(value):
    return json.loads(dumps(value))


def print_result(result):
    print(to_json(result))
    sys.stdout.flush()


def print_status(status, as_json=False, notes=(), verbose=False):
    """Print an :class:`~flowy.swf.status.ExecutionStatus`: one JSON object, or lines;
    ``notes`` (:class:`~flowy.swf.notes.Note`) are its markers and signals.  ``verbose``
    adds the details of a failure below the lines (for a run that failed because a task
    did, the task's traceback); the JSON object always has them."""
    try:
        result, result_error = status.result, None
    except (TypeError, ValueError) as exc:
        result, result_error = None, exc
    if as_json:
        info = status.to_dict(include_result=result_error is None)
        if result_error is not None:
            info['result_error'] = str(result_error)
        if notes:
            info['markers'] = [_note(note) for note in notes if note.kind == 'marker']
            info['signals'] = [_note(note) for note in notes if note.kind == 'signal']
        print(json.dumps(info, ensure_ascii=False, default=_tagged))
        return
    lines = _status_lines(status, result, result_error)
    for note in notes:
        label = note.name if note.key is None else '%s (%s)' % (note.name, note.key)
        lines.append((note.kind, '%s = %s' % (label, to_json(note.value))))
    width = max(len(label) for label, _ in lines) + 1
    for label, value in lines:
        print('%-*s %s' % (width, label + ':', value))
    if verbose and not status.completed and status.details:
        print('%-*s' % (width, 'details:'))
        for line in status.details.rstrip('\n').splitlines():
            print('    ' + line)


def _status_lines(status, result, result_error):
    lines = [('workflow id', status.workflow_id), ('run id', status.run_id)]
    if len(status.runs) > 1:
        lines.append(('runs', ' -> '.join(status.runs)))
    if status.workflow_type is not None:
        lines.append(('workflow type', '%s version %s' % status.workflow_type))
    lines.append(('status', status.status if status.close_status is None
                  else '%s (%s)' % (status.status, status.close_status)))
    if status.start_time is not None:
        lines.append(('started', _time(status.start_time)))
    if status.close_time is not None:
        lines.append(('closed', _time(status.close_time)))
    if status.completed:
        lines.append(('result', to_json(result) if result_error is None
                      else 'cannot be decoded: %s' % result_error))
    elif status.reason:
        lines.append(('reason', status.reason))
    return lines


def _note(note):
    found = note.to_dict()
    del found['kind']
    found['time'] = None if note.time is None else _time(note.time)
    return found


def _time(value):
    if hasattr(value, 'isoformat'):
        return value.isoformat(sep=' ', timespec='seconds')
    return str(value)
