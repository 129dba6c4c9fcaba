"""flowy.otel: spans of runs and task calls, checked with the SDK's in-memory exporter."""

from concurrent.futures import ThreadPoolExecutor

import pytest

import flowy

pytest.importorskip('opentelemetry.sdk', reason='needs the otel extra')

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode  # noqa: E402

from flowy.otel import instrument  # noqa: E402


def square(x):
    return x * x


def boom(x):
    raise ValueError('no %d' % x)


class Sums:
    def __init__(self, square, boom, child):
        self.square, self.boom, self.child = square, boom, child

    def __call__(self, n):
        try:
            flowy.wait(self.boom(n))
        except flowy.TaskError:
            pass
        return self.child([self.square(i) for i in range(n)])


class Child:
    def __init__(self, square):
        self.square = square

    def __call__(self, values):
        return sum(values) + self.square(1)


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentation = instrument(provider)
    yield exporter
    instrumentation.close()


def test_runs_and_tasks_become_spans_with_their_outcomes(spans):
    child = flowy.LocalWorkflow(Child)
    child.conf_activity('square', square)
    w = flowy.LocalWorkflow(Sums, executor=ThreadPoolExecutor)
    w.conf_activity('square', square)
    w.conf_activity('boom', boom)
    w.conf_workflow('child', child)
    assert w.run(3) == 6
    w.close()
    finished = {span.name: span for span in spans.get_finished_spans()}
    by_key = {span.attributes.get('flowy.key'): span for span in spans.get_finished_spans()}
    root, sub = finished['flowy.run Sums'], finished['flowy.run Child']
    assert root.parent is None
    assert by_key['boom-0-0'].status.status_code is StatusCode.ERROR
    assert by_key['boom-0-0'].status.description == 'no 3'
    assert by_key['square-2-0'].parent.span_id == root.context.span_id
    assert by_key['child-0-0'].parent.span_id == root.context.span_id
    assert sub.parent.span_id == by_key['child-0-0'].context.span_id  # the child run
    assert all(span.end_time >= span.start_time for span in spans.get_finished_spans())
    assert by_key['square-0-0'].attributes['flowy.attempt'] == 0


def test_closing_stops_the_spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    w = flowy.LocalWorkflow(Child, executor=ThreadPoolExecutor)
    w.conf_activity('square', square)
    instrumentation = instrument(provider)
    assert w.run([1]) == 2
    assert len(exporter.get_finished_spans()) == 2  # the run and its call
    instrumentation.close()
    assert w.run([1]) == 2
    assert len(exporter.get_finished_spans()) == 2
    w.close()
