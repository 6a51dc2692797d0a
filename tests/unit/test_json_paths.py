import pytest
from assay.services.json_paths import MISSING, apply_filter, get_path, parse_filter, parse_path
from hypothesis import given
from hypothesis import strategies as st

DATA = {
    "output": {"text": "hi", "score": 0.9, "flag": False, "none": None},
    "items": [[1, 2], [3, 4]],
    "candidates": [{"content": {"parts": [{"text": "answer"}]}}],
}


def test_paths_select_nested_values_with_types_kept():
    assert apply_filter(DATA, parse_filter("output.text,output.score,output.flag")) == {
        "output.text": "hi",
        "output.score": 0.9,
        "output.flag": False,
    }


def test_several_indexes_in_one_segment():
    assert get_path(DATA, "items[1][0]") == 3
    assert get_path(DATA, "candidates[0].content.parts[0].text") == "answer"


def test_missing_and_out_of_range_are_omitted_not_errors():
    result = apply_filter(
        DATA, parse_filter("output.nope,items[5],items[0][9],output.text.deeper,x")
    )
    assert result == {}


def test_null_value_that_exists_is_kept():
    assert apply_filter(DATA, ("output.none",)) == {"output.none": None}


def test_no_filter_returns_the_whole_value():
    assert apply_filter(DATA, parse_filter("")) is DATA
    assert apply_filter(None, ()) is None


def test_filter_over_missing_data_is_empty_object():
    assert apply_filter(None, ("a.b",)) == {}


def test_whitespace_and_dollar_prefix_are_accepted():
    assert parse_filter(" a.b , $.c ") == ("a.b", "$.c")
    assert parse_path("$.c") == ("c",)


@pytest.mark.parametrize("bad", ["a..b", "a[", "a[x]", "a]", "[", ".a", "a.", "a[-1]"])
def test_malformed_paths_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_filter(bad)


def _oracle(doc, steps):
    """The same lookup written the obvious way, to check get_path against."""
    for step in steps:
        if isinstance(step, int):
            if not isinstance(doc, list) or step >= len(doc):
                return MISSING
        elif not isinstance(doc, dict) or step not in doc:
            return MISSING
        doc = doc[step]
    return doc


@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(st.text("abc", min_size=1, max_size=2), c, max_size=3)
        ),
    ),
    st.sampled_from(["a", "a.b", "a[0]", "b[1].c", "a[0][0]", "ab.c[2]"]),
)
def test_any_document_and_path_agree_with_a_plain_lookup(doc, path):
    assert get_path(doc, path) == _oracle(doc, parse_path(path))
