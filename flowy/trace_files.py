"""Writing a trace's files: the DOT text, and an SVG picture when Graphviz is installed.

Any engine's trace goes through :func:`write_trace`, whatever made its DOT text
(:mod:`flowy.trace_render`).  Failing to write or to render never fails the run: it
warns (:class:`TraceWarning`).
"""

import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import warnings

__all__ = ['write_trace', 'TraceWarning', 'RENDER_TIMEOUT']

#: Seconds that :func:`write_trace` lets Graphviz render an SVG by default before it gives
#: up (the DOT file is written in any case).  Large traces take Graphviz minutes.
RENDER_TIMEOUT = 30.0

logger = logging.getLogger('flowy')


class TraceWarning(UserWarning):
    """A trace could not be written or drawn; the run itself is not affected."""


def write_trace(source, path, timeout=None):
    """Write the DOT text that ``source()`` returns to ``path + '.dot'`` and render
    ``path + '.svg'``, whichever engine made it.

    Returns the paths written.  Rendering is abandoned after ``timeout`` seconds
    (default :data:`RENDER_TIMEOUT`).  Nothing that goes wrong here raises: a missing
    Graphviz, a renderer that fails or is too slow, a file that cannot be written, each
    gives a :class:`TraceWarning` naming the file and the reason.
    """
    path = os.fspath(path)
    dot_path = path + '.dot'
    try:
        text = source()
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(dot_path, 'w', encoding='utf-8') as stream:
            stream.write(text)
    except Exception as exc:
        _warn('the trace could not be written to %s: %s' % (dot_path, _describe(exc)))
        return []
    written = [dot_path]
    svg_path = path + '.svg'
    problem = _render_svg(dot_path, svg_path, RENDER_TIMEOUT if timeout is None else timeout)
    if problem is None:
        written.append(svg_path)
    else:
        _warn('the trace %s was written as DOT only: %s' % (dot_path, problem))
    logger.info('trace written to %s', ', '.join(written))
    return written


def _render_svg(dot_path, svg_path, timeout):
    """Render ``dot_path`` to ``svg_path`` with Graphviz: None, or why it did not."""
    program = shutil.which('dot')
    if program is None:
        return ('Graphviz is not installed (no "dot" program on the PATH); install it '
                '(e.g. apt-get install graphviz) for an SVG')
    # Rendered beside the target, then renamed: no half-written SVG is ever left.
    partial = svg_path + '.part'
    try:
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                [program, '-Tsvg', '-o', partial, dot_path], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=_POSIX)
            try:
                status = process.wait(timeout)
            except subprocess.TimeoutExpired:
                return ('Graphviz took longer than %s seconds and was stopped; to draw it '
                        'anyway, run: '
                        'dot -Tsvg -o %s %s' % (timeout, shlex.quote(svg_path),
                                                shlex.quote(dot_path)))
            finally:
                if process.poll() is None:
                    _stop(process)
            if status != 0:
                errors.seek(0)
                message = errors.read(2000).decode('utf-8', 'replace').strip()
                return 'Graphviz failed (exit status %d): %s' % (status, message or 'no message')
            os.replace(partial, svg_path)
    except Exception as exc:
        return 'Graphviz could not be run: %s' % _describe(exc)
    finally:
        if os.path.exists(partial):
            try:
                os.remove(partial)
            except OSError:
                pass
    return None


_POSIX = os.name == 'posix'


def _stop(process):
    """Kill the renderer and whatever it started (it runs in a session of its own)."""
    try:
        if _POSIX:
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - POSIX only on CI
            process.kill()
    except OSError:
        pass
    process.wait()


def _warn(message):
    try:
        warnings.warn(message, TraceWarning, stacklevel=3)
    except Exception:
        # Warnings turned into errors must not make a run fail either.
        logger.warning('%s', message)


def _describe(exc):
    return '%s: %s' % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
