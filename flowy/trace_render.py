"""Draw what happened in workflow runs as Graphviz DOT, whichever engine ran them.

The engines describe runs with :class:`TraceRun` and :class:`TraceCall` objects (the
local :class:`~flowy.local.Tracer` fills them as a run goes,
:func:`flowy.local.tracer.runs_from_store` reads them back from a local run store) and
:func:`to_dot` draws them:

* each run is a cluster with a start node (the run's input in its tooltip); each call
  is a node labelled with its key, the decision that started it (when known) and its
  result as a Python ``repr`` or its error; edges go from the results a call used to
  the call, from a call to the child run it started, from a run to its restart;
* every node has a tooltip (an SVG ``<title>``/``xlink:title``) with the full input,
  result or error and the call's timings;
* calls of one dependency in one run that used results of the same dependencies form a
  class; a class of more than ``group_over`` calls is drawn as one node (``square x
  20,000, 3 failed``) and its calls that did not complete (failed, timed out, cancelled,
  interrupted) stay visible as nodes of their own (at most ``show_over`` of them per
  class; the others are counted in the group);
* activities are ellipses, child workflows boxes, timers octagons, recorded values
  (markers, ``now()``) notes and signals received arrows; a group has a double
  outline; green: completed, red: failed, orange: timed out, purple: cancelled, grey
  and dashed: interrupted (still running when its run ended), dotted: still running,
  blue: a run that restarted.  A legend names the shapes and colours drawn.
"""

import re
import reprlib
from collections import Counter

from .history import call_id
from .serialization import loads

__all__ = ['GROUP_OVER', 'SHOW_OVER', 'MAX_RUNS', 'TraceRun', 'TraceCall', 'to_dot',
           'call_state']

#: Calls of one class (same run, dependency, kind and dependencies' names) drawn as one
#: group node when there are more than this many.
GROUP_OVER = 10
#: At most this many calls of a group that did not complete are drawn on their own.
SHOW_OVER = 10
#: At most this many runs are drawn as clusters; the others are counted in a note.
MAX_RUNS = 60
#: Label and tooltip limits (characters).
LABEL_LIMIT = 40
TOOLTIP_LIMIT = 2000

ACTIVITY, WORKFLOW, TIMER, MARKER, SIGNAL = 'activity', 'workflow', 'timer', 'marker', 'signal'
KINDS = (ACTIVITY, WORKFLOW, TIMER, MARKER, SIGNAL)

RUNNING, COMPLETED, FAILED, TIMEDOUT, CANCELLED = (
    'running', 'completed', 'failed', 'timedout', 'cancelled')
INTERRUPTED, RESTARTED = 'interrupted', 'restarted'


class TraceCall:
    """One call (one attempt) of a run, as drawn.

    ``state`` is ``'running'``, ``'completed'``, ``'failed'``, ``'timedout'`` or
    ``'cancelled'``; ``detail`` is the encoded result of a completed call or the reason
    of any other outcome; ``input`` the encoded input (None if unknown);
    ``scheduled``, ``started`` and ``finished`` are times in seconds (any one clock for
    the whole trace; None if unknown); ``decision`` the number of the decision that
    started the call (None if unknown).
    """

    __slots__ = ('key', 'dep', 'kind', 'depends_on', 'decision', 'state', 'detail', 'input',
                 'scheduled', 'started', 'finished')

    def __init__(self, key, dep, kind, depends_on, decision, input=None, scheduled=None):
        self.key = key
        self.dep = dep
        self.kind = kind
        self.depends_on = depends_on
        self.decision = decision
        self.state = RUNNING
        self.detail = ''
        self.input = input
        self.scheduled = scheduled
        self.started = None
        self.finished = None

    def __repr__(self):
        return '<TraceCall %s %s>' % (self.key, self.state)


class TraceRun:
    """One workflow run, as drawn: its calls (``tasks``, by key, in the order made).

    ``state`` is ``'running'``, ``'completed'``, ``'failed'``, ``'cancelled'``,
    ``'restarted'`` or ``'interrupted'``; ``detail`` the encoded result, the reason, or
    the encoded input it restarted with.
    """

    __slots__ = ('id', 'name', 'parent', 'parent_key', 'tasks', 'state', 'detail',
                 'restarted_as', 'input', 'started', 'finished')

    def __init__(self, id, name, parent, parent_key, input=None, started=None):
        self.id = id
        self.name = name
        self.parent = parent
        self.parent_key = parent_key
        self.tasks = {}
        self.state = RUNNING
        self.detail = ''
        self.restarted_as = None
        self.input = input
        self.started = started
        self.finished = None

    def __repr__(self):
        return '<TraceRun %s %s %s>' % (self.id, self.name, self.state)


def call_state(key, reason):
    """The state of call ``key`` that ended with ``reason``: how the engines word a
    cancellation (``<call id> was cancelled``) and a timeout (``<key> timed out...``)."""
    reason = str(reason)
    ident = call_id(key)
    if reason == '%s was cancelled' % ident:
        return CANCELLED
    if reason.startswith(('%s timed out' % key, '%s timed out' % ident)):
        return TIMEDOUT
    return FAILED


# -- values as people read them -------------------------------------------------------------

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlevel = 4
_LONG = reprlib.Repr()
_LONG.maxstring = _LONG.maxother = TOOLTIP_LIMIT
_LONG.maxlist = _LONG.maxtuple = _LONG.maxdict = _LONG.maxset = _LONG.maxfrozenset = 200
_LONG.maxdeque = _LONG.maxarray = 200
_LONG.maxlevel = 10
_NOTHING = object()


def _decode(text, decode):
    """The value encoded in ``text``, or ``_NOTHING`` if it cannot be decoded."""
    if text is None or decode is None:
        return _NOTHING
    try:
        return decode(text)
    except Exception:
        return _NOTHING


def _show(text, decode, long=False):
    """An encoded value as its Python repr (the text itself if it cannot be decoded)."""
    value = _decode(text, decode)
    if value is _NOTHING:
        return '' if text is None else str(text)
    try:
        return (_LONG if long else _SHORT).repr(value)
    except Exception:
        return str(text)


def _show_input(text, decode, long=False):
    """A call's encoded input ``[args, kwargs]`` as an argument list ``(1, x=2)``."""
    value = _decode(text, decode)
    if (type(value) in (list, tuple) and len(value) == 2 and type(value[0]) in (list, tuple)
            and type(value[1]) is dict):
        show = (_LONG if long else _SHORT).repr
        try:
            parts = [show(arg) for arg in value[0]]
            parts += ['%s=%s' % (name, show(arg)) for name, arg in value[1].items()]
        except Exception:
            return str(text)
        return '(%s)' % ', '.join(parts)
    return _show(text, decode, long)


def _clip(text, limit=LABEL_LIMIT):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _clip_long(text, limit=TOOLTIP_LIMIT):
    text = str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + '... (%d characters in all)' % len(text)


def _count(number):
    return '{:,}'.format(number)


def _seconds(value):
    if value is None:
        return None
    if value < 0.001:
        return '%.0f us' % (value * 1e6)
    if value < 1:
        return '%.1f ms' % (value * 1e3)
    return '%.3f s' % value


# -- the picture ----------------------------------------------------------------------------

_COLORS = {RUNNING: '#999999', COMPLETED: '#2e7d32', FAILED: '#c62828', TIMEDOUT: '#ef6c00',
           CANCELLED: '#6a1b9a', INTERRUPTED: '#616161', RESTARTED: '#1565c0'}
_FILLS = {RUNNING: '#ffffff', COMPLETED: '#f1f8e9', FAILED: '#ffebee', TIMEDOUT: '#fff3e0',
          CANCELLED: '#f3e5f5', INTERRUPTED: '#eeeeee', RESTARTED: '#e3f2fd'}
_STYLES = {RUNNING: 'dotted,filled', INTERRUPTED: 'dashed,filled,bold'}
_SHAPES = {ACTIVITY: 'ellipse', WORKFLOW: 'box', TIMER: 'octagon', MARKER: 'note',
           SIGNAL: 'cds'}
_STATE_WORDS = {RUNNING: 'running', COMPLETED: 'completed', FAILED: 'failed',
                TIMEDOUT: 'timed out', CANCELLED: 'cancelled', INTERRUPTED: 'interrupted',
                RESTARTED: 'restarted'}
_KIND_WORDS = {ACTIVITY: 'activity', WORKFLOW: 'child workflow', TIMER: 'timer',
               MARKER: 'recorded value', SIGNAL: 'signal received'}
_STATE_ORDER = (COMPLETED, FAILED, TIMEDOUT, CANCELLED, INTERRUPTED, RUNNING)


class _Picture:
    def __init__(self, decode, origin):
        self.decode = decode
        self.origin = origin
        self.lines = []
        self.edges = Counter()
        self.edge_attrs = {}
        self.kinds = set()
        self.states = set()
        self.groups = set()
        self.members = set()  # (run id, key) of group members drawn on their own

    def when(self, at):
        if at is None or self.origin is None:
            return None
        return '+%.3f s' % (at - self.origin)


def to_dot(runs, decode=loads, group_over=GROUP_OVER, show_over=SHOW_OVER, legend=True,
           max_runs=MAX_RUNS):
    """The Graphviz DOT source of ``runs`` (:class:`TraceRun` objects, or a dict of them).

    ``decode`` turns encoded values back into Python values for display (tagged JSON by
    default; a value it cannot decode is shown as its text); ``group_over``,
    ``show_over`` and ``max_runs`` bound the picture (see the module docs); ``legend``
    adds a legend of the shapes and colours drawn.
    """
    if isinstance(runs, dict):
        runs = list(runs.values())
    else:
        runs = list(runs)
    times = [run.started for run in runs if run.started is not None]
    times += [call.scheduled for run in runs for call in run.tasks.values()
              if call.scheduled is not None]
    picture = _Picture(decode, min(times) if times else None)
    lines = picture.lines
    lines.extend(['digraph flowy {', '\tgraph [fontsize=10 rankdir=LR newrank=true '
                  'ranksep=0.3 nodesep=0.15]',
                  '\tnode [fontname=Helvetica fontsize=10]',
                  '\tedge [fontname=Helvetica fontsize=9]'])
    by_id = {run.id: run for run in runs}
    node_of = {}  # (run id, call key) -> the node drawn for it
    hidden = set()
    drawn = []
    for run in runs:
        if run.parent is not None and (run.parent in hidden or node_of.get(
                (run.parent, run.parent_key)) in picture.groups):
            hidden.add(run.id)  # a child of a grouped call: counted in the group
            continue
        if len(drawn) >= max_runs:
            hidden.add(run.id)
            continue
        drawn.append(run)
        _draw_run(picture, run, node_of, group_over, show_over)
    if len(drawn) < len(runs):
        shown_hidden = [run for run in runs if run.id in hidden]
        lines.append('\t%s [label=%s shape=plaintext tooltip=%s]' % (
            _quote('more runs'), _label(['%s more runs not drawn' % _count(len(shown_hidden))]),
            _tooltip(['Not drawn: children of grouped calls, and runs beyond the first %d.'
                      % max_runs] + ['%s (run %s): %s' % (r.name, r.id, _STATE_WORDS.get(
                          r.state, r.state)) for r in shown_hidden[:20]])))
    for run in drawn:
        if run.parent is not None and run.parent not in hidden:
            parent_node = node_of.get((run.parent, run.parent_key))
            if parent_node is not None:
                picture.edges[(parent_node, _node(run.id, 'start'))] += 1
                picture.edge_attrs[(parent_node, _node(run.id, 'start'))] = (
                    'label=child style=dashed')
        if run.restarted_as is not None and run.restarted_as in by_id and (
                run.restarted_as not in hidden):
            edge = (_node(run.id, 'start'), _node(run.restarted_as, 'start'))
            picture.edges[edge] += 1
            picture.edge_attrs[edge] = 'label=restart style=dashed'
    for (tail, head), number in picture.edges.items():
        attrs = picture.edge_attrs.get((tail, head), '')
        if number > 1:
            attrs = ('%s label=%s' % (attrs, _quote('x ' + _count(number)))).strip()
        lines.append('\t%s -> %s%s' % (tail, head, ' [%s]' % attrs if attrs else ''))
    if legend:
        _draw_legend(picture)
    lines.append('}')
    return '\n'.join(lines) + '\n'


def _draw_run(picture, run, node_of, group_over, show_over):
    lines, decode = picture.lines, picture.decode
    state = run.state
    picture.states.add(state)
    lines.append('\tsubgraph %s {' % _quote('cluster_%s' % run.id))
    tip = ['%s (run %s): %s' % (run.name, run.id, _STATE_WORDS.get(state, state))]
    if run.state == COMPLETED:
        tip.append('result: ' + _show(run.detail, decode, True))
    elif run.state == RESTARTED:
        tip.append('restarted as %s%s' % (run.name, _show_input(run.detail, decode, True)))
    elif run.detail:
        tip.append('reason: ' + str(run.detail))
    _add_times(picture, tip, None, run.started, run.finished)
    lines.append('\t\tgraph [color=%s label=%s style=rounded tooltip=%s]' % (
        _quote(_COLORS.get(state, '#999999')), _label([_run_label(run, decode)]),
        _tooltip(tip)))
    start_tip = ['%s (run %s) started' % (run.name, run.id)]
    if run.input is not None:
        start_tip.append('input: %s%s' % (run.name, _show_input(run.input, decode, True)))
    if run.parent is not None:
        start_tip.append('child of run %s, call %s' % (run.parent, run.parent_key))
    _add_times(picture, start_tip, None, run.started, None)
    start_label = [run.name]
    if run.input is not None:
        start_label.append(_clip(_show_input(run.input, decode)))
    lines.append('\t\t%s [label=%s fillcolor="#eeeeee" shape=box style="rounded,filled" '
                 'tooltip=%s]' % (_node(run.id, 'start'), _label(start_label),
                                  _tooltip(start_tip)))
    ended = run.state != RUNNING
    classes = {}
    for call in run.tasks.values():
        deps = sorted({_dep_of(run, key) for key in call.depends_on})
        classes.setdefault((call.dep, call.kind, tuple(deps)), []).append(call)
    attempts = Counter(call_id(key) for key in run.tasks)
    for (dep, kind, _), calls in classes.items():
        if len(calls) > group_over:
            _draw_group(picture, run, dep, kind, calls, node_of, show_over, ended)
        else:
            for call in calls:
                _draw_call(picture, run, call, node_of, ended, attempts)
    start = _node(run.id, 'start')
    for call in run.tasks.values():
        head = node_of[(run.id, call.key)]
        tails = [node_of.get((run.id, key)) for key in call.depends_on]
        for tail in tails:
            if tail is not None:
                picture.edges[(tail, head)] += 1
        if not any(tails) and (start, head) not in picture.edge_attrs and (
                run.id, call.key) not in picture.members:
            # What the body started with: a faint line from the run's start.
            picture.edges[(start, head)] = 1
            picture.edge_attrs[(start, head)] = 'color="#bbbbbb" arrowhead=none'
    lines.append('\t}')


def _dep_of(run, key):
    call = run.tasks.get(key)
    return call.dep if call is not None else call_id(key).rpartition('-')[0]


def _shown_state(call, ended):
    return INTERRUPTED if call.state == RUNNING and ended else call.state


def _draw_call(picture, run, call, node_of, ended, attempts):
    decode = picture.decode
    state = _shown_state(call, ended)
    picture.kinds.add(call.kind)
    picture.states.add(state)
    node = _node(run.id, call.key)
    node_of[(run.id, call.key)] = node
    label = [call.key]
    if call.decision is not None:
        label.append('decision %d' % call.decision)
    tip = ['%s: %s %s' % (call.key, _KIND_WORDS.get(call.kind, call.kind), call.dep)]
    if call.decision is not None:
        tip.append('started by decision %d' % call.decision)
    if call.input is not None:
        if call.kind == TIMER:
            tip.append('sleep: %s s' % call.input)
        elif call.kind == MARKER:
            tip.append('name: %s' % call.input)
        else:
            tip.append('call: %s%s' % (call.dep, _show_input(call.input, decode, True)))
    if state == COMPLETED:
        if call.kind == TIMER:
            label.append('fired')
        else:
            label.append('= ' + _clip(_show(call.detail, decode)))
            tip.append('result: ' + _show(call.detail, decode, True))
    elif state == FAILED:
        label.append('failed: ' + _clip(call.detail))
        tip.append('error: ' + _clip_long(call.detail))
    else:
        label.append(_STATE_WORDS.get(state, state))
        if call.detail:
            tip.append('reason: ' + _clip_long(call.detail))
        elif state == INTERRUPTED:
            tip.append('still running when its run ended')
    if state != COMPLETED and attempts[call_id(call.key)] > 1 and call.kind in (
            ACTIVITY, WORKFLOW):
        tip.append('attempt %s of %d recorded' % (call.key.rpartition('-')[2],
                                                   attempts[call_id(call.key)]))
    _add_times(picture, tip, call.scheduled, call.started, call.finished)
    attrs = _style(call.kind, state)
    attrs['tooltip'] = _TooltipText(tip)
    picture.lines.append('\t\t%s [label=%s%s]' % (node, _label(label), _attrs(attrs)))


def _draw_group(picture, run, dep, kind, calls, node_of, show_over, ended):
    decode = picture.decode
    picture.kinds.add(kind)
    node = _quote('group/%s/%s/%d' % (run.id, dep, len(picture.groups)))
    picture.groups.add(node)
    states = Counter(_shown_state(call, ended) for call in calls)
    notable = [call for call in calls if _shown_state(call, ended) != COMPLETED]
    shown = notable[:show_over]
    first = ['%s x %s' % (dep, _count(len(calls)))]
    first += ['%s %s' % (_count(states[state]), _STATE_WORDS[state])
              for state in _STATE_ORDER if state != COMPLETED and states[state]]
    label = [', '.join(first)]
    decisions = [call.decision for call in calls if call.decision is not None]
    if decisions:
        low, high = min(decisions), max(decisions)
        label.append('decision %d' % low if low == high else 'decisions %d-%d' % (low, high))
    deps = sorted({_dep_of(run, key) for call in calls for key in call.depends_on})
    tip = ['%s calls of %s %s%s' % (_count(len(calls)), _KIND_WORDS.get(kind, kind), dep,
                                    ' using results of %s' % ', '.join(deps) if deps else '')]
    tip.append(', '.join('%s %s' % (_count(states[state]), _STATE_WORDS[state])
                         for state in _STATE_ORDER if states[state]))
    if len(notable) > len(shown):
        tip.append('%s of the %s calls that did not complete are drawn on their own'
                   % (_count(len(shown)), _count(len(notable))))
    elif shown:
        tip.append('the calls that did not complete are drawn on their own')
    tip.append('keys: %s' % _range(calls))
    inputs = [call.input for call in calls[:4] if call.input is not None]
    if inputs and kind in (ACTIVITY, WORKFLOW):
        tip.append('calls: %s%s' % (', '.join(dep + _show_input(text, decode) for text in inputs),
                                    ', ...' if len(calls) > len(inputs) else ''))
    results = [call.detail for call in calls if call.state == COMPLETED][:4]
    if results and kind != TIMER:
        tip.append('results: %s%s' % (', '.join(_show(text, decode) for text in results),
                                      ', ...' if states[COMPLETED] > len(results) else ''))
    reasons = Counter(str(call.detail) for call in notable if call.detail)
    for reason, number in reasons.most_common(5):
        tip.append('error (x %s): %s' % (_count(number), _clip(reason, 300)))
    if len(reasons) > 5:
        tip.append('... and %s other errors' % _count(len(reasons) - 5))
    durations = sorted(call.finished - (call.started if call.started is not None
                                        else call.scheduled)
                       for call in calls if call.finished is not None and (
                           call.started is not None or call.scheduled is not None))
    if durations:
        tip.append('took %s to %s (median %s)' % (
            _seconds(durations[0]), _seconds(durations[-1]),
            _seconds(durations[len(durations) // 2])))
    firsts = [call.scheduled for call in calls if call.scheduled is not None]
    lasts = [call.finished for call in calls if call.finished is not None]
    if firsts and picture.when(min(firsts)):
        tip.append('first scheduled at %s%s' % (picture.when(min(firsts)), (
            ', last ended at %s' % picture.when(max(lasts))) if lasts else ''))
    worst = next((state for state in _STATE_ORDER[1:] if states[state]), COMPLETED)
    attrs = _style(kind, worst)
    attrs['peripheries'] = '2'
    attrs['tooltip'] = _TooltipText(tip)
    picture.states.add(worst)
    picture.lines.append('\t\t%s [label=%s%s]' % (node, _label(label), _attrs(attrs)))
    for call in calls:
        node_of[(run.id, call.key)] = node
    attempts = Counter(call_id(call.key) for call in run.tasks.values())
    for call in shown:
        picture.members.add((run.id, call.key))
        _draw_call(picture, run, call, node_of, ended, attempts)
        edge = (node, node_of[(run.id, call.key)])
        picture.edges[edge] += 1
        picture.edge_attrs[edge] = 'style=dotted arrowhead=none constraint=false'


def _range(calls):
    keys = [call.key for call in calls]
    if len(keys) <= 3:
        return ', '.join(keys)
    return '%s, %s ... %s' % (keys[0], keys[1], keys[-1])


def _add_times(picture, tip, scheduled, started, finished):
    begin = started if started is not None else scheduled
    parts = []
    if scheduled is not None and picture.when(scheduled):
        parts.append('scheduled at %s' % picture.when(scheduled))
    if started is not None and started != scheduled and picture.when(started):
        parts.append('started at %s' % picture.when(started))
    if finished is not None and picture.when(finished):
        parts.append('ended at %s' % picture.when(finished))
    if parts:
        tip.append(', '.join(parts))
    if begin is not None and finished is not None:
        tip.append('took %s' % _seconds(finished - begin))


def _style(kind, state):
    style = {'shape': _SHAPES.get(kind, 'ellipse'), 'color': _COLORS.get(state, '#999999'),
             'fillcolor': _FILLS.get(state, '#ffffff'),
             'style': _STYLES.get(state, 'filled')}
    if kind == WORKFLOW:
        style['style'] = 'rounded,' + style['style']
    if state not in (COMPLETED, RUNNING):
        style['penwidth'] = '2'
    return style


def _run_label(run, decode):
    label = '%s (run %s)' % (run.name, run.id)
    if run.state == COMPLETED:
        label += ' = %s' % _clip(_show(run.detail, decode))
    elif run.state in (FAILED, CANCELLED):
        label += ' %s: %s' % (run.state, _clip(run.detail))
    elif run.state != RUNNING:
        label += ' ' + _STATE_WORDS.get(run.state, run.state)
    return label


def _draw_legend(picture):
    lines = picture.lines
    kinds = [kind for kind in KINDS if kind in picture.kinds]
    states = [state for state in (COMPLETED, FAILED, TIMEDOUT, CANCELLED, INTERRUPTED,
                                  RUNNING, RESTARTED) if state in picture.states]
    entries = []
    for kind in kinds:
        entries.append(('kind ' + kind, _KIND_WORDS[kind], _style(kind, COMPLETED)))
    if picture.groups:
        style = _style(ACTIVITY, COMPLETED)
        style['peripheries'] = '2'
        entries.append(('group', 'many calls (dep x N)', style))
    for state in states:
        style = _style(ACTIVITY, state)
        style['shape'] = 'box'
        entries.append(('state ' + state, _STATE_WORDS[state], style))
    if not entries:
        return
    lines.append('\tsubgraph "cluster_legend" {')
    lines.append('\t\tgraph [color="#bbbbbb" label=legend style=rounded tooltip=%s]'
                 % _tooltip(['What the shapes and colours mean']))
    names = []
    for name, text, style in entries:
        node = _quote('legend/' + name)
        names.append(node)
        style['tooltip'] = _TooltipText([text])
        lines.append('\t\t%s [label=%s%s]' % (node, _label([text]), _attrs(style)))
    # Chained by invisible edges: one row, one node tall.
    for tail, head in zip(names, names[1:], strict=False):
        lines.append('\t\t%s -> %s [style=invis]' % (tail, head))
    lines.append('\t}')


# -- DOT text ---------------------------------------------------------------------------------

class _TooltipText(list):
    """Lines of a tooltip, escaped as :func:`_tooltip` does."""


def _attrs(attrs):
    return ''.join(' %s=%s' % (name, _tooltip(value) if isinstance(value, _TooltipText)
                               else _quote(value)) for name, value in attrs.items())


def _node(run_id, key):
    return _quote('w%s/%s' % (run_id, key))


def _shown(text):
    """Control characters and lone surrogates as Python writes them (not newlines)."""
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], str(text))


_CONTROL = re.compile(r'[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]')
# In a label a backslash is written \\ ; in a tooltip, which Graphviz reads as an
# escString (\N is the node's name...), \\\\ .  Ampersands are written as &amp; in both
# (Graphviz would read &amp; in the text as an entity).
_LABEL = re.compile(r'[\\"&\n]')
_LABEL_ESCAPES = {'\\': '\\\\', '"': '\\"', '&': '&amp;', '\n': '\\n'}
_TIP_ESCAPES = {'\\': '\\\\\\\\', '"': '\\"', '&': '&amp;', '\n': '\\n'}


def _quote(text):
    """``text`` as a quoted DOT string that shows exactly ``text`` in a label."""
    return '"%s"' % _LABEL.sub(lambda m: _LABEL_ESCAPES[m.group()], _shown(text))


def _label(lines):
    """A DOT label of these lines of text."""
    return '"%s"' % '\\n'.join(_LABEL.sub(lambda m: _LABEL_ESCAPES[m.group()], _shown(line))
                               for line in lines)


def _tooltip(lines):
    """A DOT tooltip of these lines of text (at most :data:`TOOLTIP_LIMIT` characters of
    each, a few more in all)."""
    text = '\n'.join(_clip_long(line) for line in lines)
    text = _clip_long(text, 4 * TOOLTIP_LIMIT)
    return '"%s"' % _LABEL.sub(lambda m: _TIP_ESCAPES[m.group()], _shown(text))
