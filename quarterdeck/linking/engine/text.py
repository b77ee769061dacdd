"""Lexical features: word 1–2-grams and character 3–5-grams (within word boundaries).

Two consumers:

* :class:`TextVectorizer` — a fitted vocabulary with IDF weights producing sparse
  TF-IDF rows (scipy CSR). The :class:`~.linker.Linker` adds this block to the
  sentence embedding when it is given texts; it serialises to plain arrays.
* :func:`hashed_tfidf` — the same n-grams hashed into a fixed number of dense
  buckets, with no fitting at all (used by :class:`~.providers.TfidfProvider`).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)

WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)
# words whose n-gram ids are remembered by a fitted vectorizer (the memo is emptied when full)
WORD_MEMO = 50_000


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


def ngrams(text: str) -> list[str]:
    """Word 1–2-grams (prefixed ``w:``) and char 3–5-grams of each padded word (``c:``)."""
    words = tokens(text)
    grams = ["w:" + w for w in words]
    grams.extend("w:" + a + " " + b for a, b in zip(words, words[1:], strict=False))
    lo, hi = CHAR_NGRAMS
    for w in words:
        padded = f" {w} "
        size = len(padded)
        for n in range(lo, hi + 1):
            if size < n:
                break
            grams.extend("c:" + padded[i : i + n] for i in range(size - n + 1))
    return grams


class TextVectorizer:
    """Fitted-vocabulary TF-IDF (sublinear tf, smooth idf, L2-normalised rows)."""

    def __init__(self, min_df: int = 2, max_features: int = 100_000):
        self.min_df = min_df
        self.max_features = max_features
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)

    @property
    def n_features(self) -> int:
        return len(self.vocabulary)

    def fit(self, texts: Sequence[str]) -> TextVectorizer:
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(ngrams(text)))
        kept = [(g, c) for g, c in df.items() if c >= self.min_df]
        if not kept:  # tiny corpora: keep everything rather than nothing
            kept = list(df.items())
        kept.sort(key=lambda gc: (-gc[1], gc[0]))
        kept = kept[: self.max_features]
        kept.sort()
        self.vocabulary = {g: i for i, (g, _) in enumerate(kept)}
        n = len(texts)
        counts = np.array([c for _, c in kept], dtype=np.float64)
        self.idf = (np.log((1.0 + n) / (1.0 + counts)) + 1.0).astype(np.float32)
        return self

    def _word_ids(self, word: str) -> list[int]:
        """Vocabulary ids of a word's own n-grams (the word and its char n-grams), memoised:
        words repeat far more than texts do."""
        ids = self._words.get(word)
        if ids is None:
            vocab = self.vocabulary
            padded, (lo, hi) = f" {word} ", CHAR_NGRAMS
            grams = ["w:" + word]
            for n in range(lo, min(hi, len(padded)) + 1):
                grams.extend("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
            ids = [i for i in map(vocab.get, grams) if i is not None]
            if len(self._words) >= WORD_MEMO:
                self._words.clear()
            self._words[word] = ids
        return ids

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The same n-grams as :func:`ngrams`, counted through the per-word memo."""
        vocab = self.vocabulary
        if getattr(self, "_words_of", None) is not vocab:
            self._words, self._words_of = {}, vocab
        cols: list[int] = []
        lengths: list[int] = []
        for text in texts:
            words = tokens(text)
            ids = [i for w in words for i in self._word_ids(w)]
            pairs = (vocab.get("w:" + a + " " + b) for a, b in zip(words, words[1:], strict=False))
            ids.extend(i for i in pairs if i is not None)
            cols.extend(ids)
            lengths.append(len(ids))
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        counts = sparse.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), (rows, np.asarray(cols, dtype=np.int64))),
            shape=(len(texts), self.n_features),
            dtype=np.float32,
        )  # duplicates summed: term counts
        counts.data = (1.0 + np.log(counts.data)) * self.idf[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        counts.data *= np.repeat(scale, np.diff(counts.indptr)).astype(np.float32)
        return counts

    # -- serialisation (plain arrays, no pickle) ------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        blob = "\x00".join(terms).encode("utf-8")
        return {
            "vocab_blob": np.frombuffer(blob, dtype=np.uint8),
            "idf": self.idf,
            "params": np.array([self.min_df, self.max_features], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TextVectorizer:
        min_df, max_features = (int(v) for v in arrays["params"])
        vec = cls(min_df=min_df, max_features=max_features)
        blob = arrays["vocab_blob"].tobytes().decode("utf-8")
        terms = blob.split("\x00") if blob else []
        vec.vocabulary = {t: i for i, t in enumerate(terms)}
        vec.idf = np.asarray(arrays["idf"], dtype=np.float32)
        return vec


def hashed_tfidf(texts: Sequence[str], dim: int) -> np.ndarray:
    """Dense signed-hash bag of n-grams (sublinear tf), L2-normalised rows, float32.

    crc32 keeps the buckets stable across processes (Python's ``hash`` is salted).
    Word n-grams get twice the weight of character n-grams, which are far more numerous.
    """
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        counts = Counter(ngrams(text))
        for gram, count in counts.items():
            h = zlib.crc32(gram.encode("utf-8"))
            sign = 1.0 if (h >> 31) & 1 else -1.0
            weight = 2.0 if gram.startswith("w:") else 1.0
            out[row, h % dim] += sign * weight * (1.0 + np.log(count))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
