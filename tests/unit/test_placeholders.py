import json

from assay.services.placeholders import substitute


def test_quotes_and_newlines_never_break_the_request():
    spec = {"body": {"q": "Question: {query}"}, "headers": {"X-Q": "{query}"}}
    value = 'He said "hi"\nand left \\ }{'
    out = substitute(spec, {"query": value})
    assert out["body"]["q"] == f"Question: {value}"
    assert out["headers"]["X-Q"] == value
    json.loads(json.dumps(out))


def test_whole_placeholder_keeps_json_type():
    out = substitute(
        {"n": "{n}", "b": "{b}", "l": "{l}", "o": "{o}"},
        {"n": 3, "b": True, "l": [1, "x"], "o": {"k": None}},
    )
    assert out == {"n": 3, "b": True, "l": [1, "x"], "o": {"k": None}}


def test_embedded_non_strings_become_json_text():
    assert substitute("a={b} l={l}", {"b": True, "l": [1]}) == "a=true l=[1]"


def test_unknown_placeholders_are_left_alone():
    assert substitute({"u": "https://x/{version}/{query}"}, {"query": "q"}) == {
        "u": "https://x/{version}/q"
    }


def test_keys_lists_and_url_are_substituted_and_input_untouched():
    spec = {"url": "https://h/{id}", "body": {"{field}": ["{query}", 1]}}
    out = substitute(spec, {"id": 7, "field": "f", "query": "q"})
    assert out == {"url": "https://h/7", "body": {"f": ["q", 1]}}
    assert spec["body"] == {"{field}": ["{query}", 1]}


def test_json_braces_in_text_are_not_placeholders():
    assert substitute('{"a": 1} {query}', {"query": "x"}) == '{"a": 1} x'
