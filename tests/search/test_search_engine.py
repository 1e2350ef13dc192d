"""The pure search engine (issue 21, R-KB-3): normalisation, tokens, ranking, highlights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.errors import ValidationError
from helpdesk_core.search import SearchIndex, analyse, highlight, normalise, query_terms
from helpdesk_core.search.index import FUZZY_FACTOR, PREFIX_FACTOR
from helpdesk_core.search.text import _fold_once
from helpdesk_core.search.tickets import check_query
from helpdesk_core.text.trad_simp_table import SIMPLIFIED, TRADITIONAL

LABELLED = Path(__file__).parents[2] / "benchmarks" / "search_data" / "labelled_set.json"


# -- normalisation (text.py semantics 1) -----------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＲＥＦＵＮＤ", "refund"),  # full width
        ("Café Crème", "cafe creme"),  # accents
        ("STRASSE straße", "strasse strasse"),  # casefold
        ("ﬁle", "file"),  # compatibility ligature
        ("退貨與發票", "退货与发票"),  # traditional -> simplified
        ("訂單號", "订单号"),
    ],
)
def test_r_kb_3_normalise_folds_width_case_accents_and_traditional(raw: str, folded: str) -> None:
    assert normalise(raw) == folded


def test_trad_simp_table_is_complete_and_one_to_one() -> None:
    assert len(TRADITIONAL) == len(SIMPLIFIED) >= 2500
    assert len(set(TRADITIONAL)) == len(TRADITIONAL)
    assert not set(TRADITIONAL) & {"退", "款", "订"}  # simplified forms are not keys


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


def _normalise_by_rounds(text: str) -> str:
    """Semantics 1 without the ASCII short cut (issue 23): fold until nothing changes."""
    folded = _fold_once(text)
    for _ in range(3):
        again = _fold_once(folded)
        if again == folded:
            break
        folded = again
    return folded


@given(st.one_of(st.text(), st.text(st.characters(max_codepoint=0x7F))))
def test_r_kb_3_normalise_of_ascii_is_the_full_fold(text: str) -> None:
    """R-KB-3: the ASCII short cut gives what the full fold gives, and so does analysis."""
    assert normalise(text) == _normalise_by_rounds(text)
    for token in analyse(text):
        if token.kind in ("word", "ident"):
            assert token.term == _normalise_by_rounds(text[token.start : token.end])[:64]


# -- tokens (semantics 2, 3) ----------------------------------------------------------------
def test_identifiers_are_kept_whole_and_compounds_split() -> None:
    terms = [t.term for t in analyse("Order SO-2026-0042 and T20261102000001, e-mail me")]
    assert terms == ["order", "so-2026-0042", "and", "t20261102000001", "e", "mail", "me"]
    kinds = {t.term: t.kind for t in analyse("SO-2026-0042 refund")}
    assert kinds == {"so-2026-0042": "ident", "refund": "word"}


def test_cjk_is_indexed_as_unigrams_and_bigrams_and_queried_by_bigrams() -> None:
    assert [t.term for t in analyse("退款慢")] == ["退", "款", "慢", "退款", "款慢"]
    assert query_terms("退款慢") == ["退款", "款慢"]
    assert query_terms("退") == ["退"]
    assert query_terms("APP闪退 refund") == ["app", "闪退", "refund"]


def test_token_offsets_index_the_original_text() -> None:
    text = "Ｒｅｆｕｎｄ for 訂單 SO-1"
    for token in analyse(text):
        assert normalise(text[token.start : token.end]).replace("-", "") == token.term.replace(
            "-", ""
        )


# -- ranking (index.py semantics) ------------------------------------------------------------
@pytest.fixture
def index() -> SearchIndex:
    ix = SearchIndex(["subject", "body", "notes"], weights={"subject": 2.0})
    ix.add("a", {"subject": "Refund for order SO-2026-0042", "body": "客户要求退货退款"})
    ix.add("b", {"subject": "Delivery delayed", "body": "parcel late, refunding shipping"})
    ix.add("c", {"subject": "退款問題", "body": "password reset", "notes": "vip refund"})
    ix.add("d", {"subject": "Printer jam", "body": "paper stuck in tray"})
    return ix


def ids(index: SearchIndex, query: str, **kw: object) -> list[str]:
    return [m.doc_id for m in index.search(query, **kw)]  # type: ignore[arg-type]


def test_r_kb_3_exact_before_prefix_and_fuzzy(index: SearchIndex) -> None:
    matches = index.search("refund", fields=["subject", "body"])
    assert [m.doc_id for m in matches] == ["a", "b"]
    assert matches[0].exact == 1 and matches[1].exact == 0
    assert ids(index, "refnd") == ["a", "c"]  # typo: one edit away
    assert ids(index, "passw") == ["c"]  # partial word
    assert ids(index, "delivry") == ["b"]


def test_identifiers_match_whole_only(index: SearchIndex) -> None:
    assert ids(index, "so-2026-0042") == ["a"]
    assert ids(index, "SO-2026-0024") == []  # a near order number is another order
    assert ids(index, "0042") == []


def test_traditional_and_simplified_queries_find_the_same_tickets(index: SearchIndex) -> None:
    assert ids(index, "退款问题") == ids(index, "退款問題") == ["c", "a"]
    assert ids(index, "退貨") == ids(index, "退货")


def test_fields_restrict_matching_so_notes_can_be_excluded(index: SearchIndex) -> None:
    assert "c" in ids(index, "vip")
    assert ids(index, "vip", fields=["subject", "body"]) == []


def test_index_is_incremental_and_serialisable(index: SearchIndex) -> None:
    index.add("d", {"subject": "Refund for printer"})  # replaces d
    assert "d" in ids(index, "refund")
    assert ids(index, "jam") == []
    index.remove("a")
    index.remove("missing")
    assert "a" not in ids(index, "refund")
    copy = SearchIndex.from_dict(json.loads(json.dumps(index.to_dict())))
    for query in ("refund", "退款", "refnd", "passw", "printer"):
        assert [(m.doc_id, m.score) for m in copy.search(query)] == [
            (m.doc_id, m.score) for m in index.search(query)
        ]
    with pytest.raises(ValidationError):
        SearchIndex.from_dict({"fields": ["x"]})


def test_removing_every_document_empties_the_vocabulary(index: SearchIndex) -> None:
    for doc in ("a", "b", "c", "d"):
        index.remove(doc)
    assert len(index) == 0
    assert index.to_dict()["documents"] == {}
    assert index.search("refund") == []
    assert index.search("refnd") == []


@settings(max_examples=60, deadline=None)
@given(
    word=st.text(alphabet="abcdefghijklmnop", min_size=5, max_size=9),
    others=st.lists(st.text(alphabet="abcdefghijklmnop", min_size=3, max_size=9), max_size=8),
)
def test_a_document_with_the_exact_word_outranks_partial_matches(
    word: str, others: list[str]
) -> None:
    ix = SearchIndex(["body"])
    ix.add("exact", {"body": word})
    ix.add("prefix", {"body": " ".join([word + "xyz", *others, *others])})
    ix.add("typo", {"body": " ".join([word[:-1] + "q" + word[-1], word + "s", *others])})
    for i, other in enumerate(others):
        ix.add(f"o{i}", {"body": other})
    ranked = ix.search(word, limit=None)
    assert ranked[0].doc_id == "exact" or ranked[0].exact == 1
    exact_docs = [m for m in ranked if m.exact]
    assert ranked[: len(exact_docs)] == exact_docs
    assert PREFIX_FACTOR < 1 and FUZZY_FACTOR < 1


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_r_kb_3_random_unicode_queries_raise_only_validation_errors(query: str) -> None:
    ix = SearchIndex(["body"])
    ix.add("x", {"body": "refund 退款 SO-1 café"})
    try:
        check_query(query)
        ix.search(query)
    except ValidationError as exc:
        assert exc.field == "query"


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "!!! ...", None, 42])
def test_empty_or_non_text_query_is_a_validation_error(query: object) -> None:
    with pytest.raises(ValidationError) as caught:
        check_query(query)
    assert caught.value.field == "query"


# -- highlights ------------------------------------------------------------------------------
def test_highlights_mark_matches_in_the_original_text_and_escape_the_rest() -> None:
    snippets = highlight("Please <b>refund</b> order SO-2026-0042 now", {"refund", "so-2026-0042"})
    assert snippets == [
        "Please &lt;b&gt;<mark>refund</mark>&lt;/b&gt; order <mark>SO-2026-0042</mark> now"
    ]
    assert highlight("客户要求退貨退款，謝謝", {"退货", "退款"}) == [
        "客户要求<mark>退貨退款</mark>，謝謝"
    ]
    assert highlight("nothing here", {"refund"}) == []
    long = "word " * 40 + "refund" + " word" * 40
    (snippet,) = highlight(long, {"refund"})
    assert snippet.startswith("…") and snippet.endswith("…") and "<mark>refund</mark>" in snippet


# -- the labelled set ------------------------------------------------------------------------
def test_labelled_set_has_the_size_and_kinds_the_issue_asks_for() -> None:
    data = json.loads(LABELLED.read_text(encoding="utf-8"))
    assert len(data["tickets"]) >= 200
    assert len(data["queries"]) >= 50
    kinds = {q["kind"] for q in data["queries"]}
    assert {"en", "zh", "typo", "partial", "trad", "order", "mixed"} <= kinds
    assert {t["id"] for t in data["tickets"]} >= {d for q in data["queries"] for d in q["relevant"]}


def test_order_number_queries_find_their_ticket_first() -> None:
    data = json.loads(LABELLED.read_text(encoding="utf-8"))
    ix = SearchIndex(["number", "subject", "description"])
    for t in data["tickets"]:
        ix.add(t["id"], {k: t[k] for k in ("number", "subject", "description")})
    for q in data["queries"]:
        if q["kind"] == "order":
            assert [m.doc_id for m in ix.search(q["query"], limit=1)] == list(q["relevant"])


_PAIRS = list(zip(TRADITIONAL, SIMPLIFIED, strict=True))


@settings(max_examples=100, deadline=None)
@given(
    docs=st.lists(st.lists(st.sampled_from(_PAIRS[:60]), min_size=2, max_size=8), min_size=1),
    query=st.lists(st.sampled_from(_PAIRS[:60]), min_size=1, max_size=4),
    data=st.data(),
)
def test_traditional_and_simplified_find_the_same_docs_property(
    docs: list[list[tuple[str, str]]], query: list[tuple[str, str]], data: st.DataObject
) -> None:
    ix = SearchIndex(["body"])
    for i, doc in enumerate(docs):
        # each document is written in a random mix of traditional and simplified characters
        text = "".join(pair[data.draw(st.integers(0, 1))] for pair in doc)
        ix.add(f"d{i}", {"body": text})
    traditional = "".join(t for t, _ in query)
    simplified = "".join(s for _, s in query)
    found = [(m.doc_id, m.score) for m in ix.search(traditional, limit=None)]
    assert found == [(m.doc_id, m.score) for m in ix.search(simplified, limit=None)]


def test_searchable_fields_leave_out_notes_and_unreadable_fields() -> None:
    from helpdesk_core.search.tickets import searchable_fields

    assert searchable_fields(may_read_notes=True) == (
        "number",
        "subject",
        "description",
        "messages",
        "notes",
    )
    assert searchable_fields(may_read_notes=False, unreadable={"description"}) == (
        "number",
        "subject",
        "messages",
    )
