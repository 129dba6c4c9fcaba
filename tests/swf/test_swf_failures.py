"""Failure reasons sent to SWF come back whole, within SWF's limits."""

from hypothesis import given
from hypothesis import strategies as st

from flowy.swf.failures import extra_details, failure_fields, full_reason
from flowy.swf.payload import MAX_DATA, MAX_REASON

texts = st.text(st.characters(blacklist_categories=('Cs',)), max_size=600)


@given(texts, st.one_of(st.none(), texts))
def test_the_whole_reason_and_the_rest_come_back(reason, more):
    short, details = failure_fields(reason, more)
    assert len(short) <= MAX_REASON and reason.startswith(short)
    assert details is None or len(details) <= MAX_DATA
    assert full_reason(short, details) == reason
    if details is not None:
        assert extra_details(details) == (more or None)


@given(st.integers(0, 3), st.integers(0, 3))
def test_huge_texts_are_cut_to_fit(reason_scale, more_scale):
    reason = 'r' * (MAX_REASON + reason_scale * 15000) + ' end'
    more = 'Traceback ' + 'm' * (more_scale * 15000) + ' last line'
    short, details = failure_fields(reason, more)
    assert len(short) == MAX_REASON and len(details) <= MAX_DATA
    whole = full_reason(short, details)
    assert whole == reason or (whole.startswith('rrr') and whole.endswith(' [cut]'))
    rest = extra_details(details)
    assert rest is None or rest.endswith(' last line')  # a traceback keeps its end


def test_a_short_reason_needs_no_details():
    assert failure_fields('boom') == ('boom', None)
    assert full_reason('boom', None) == 'boom'


def test_failures_from_elsewhere_are_read_as_they_are():
    assert full_reason('short', 'short and then the rest') == 'short and then the rest'
    assert full_reason('reason', 'unrelated details') == 'reason'
    assert full_reason('reason', '{"not": "ours"}') == 'reason'
    assert full_reason(None, None, default='the activity failed') == 'the activity failed'
    assert extra_details('plain text') == 'plain text'
