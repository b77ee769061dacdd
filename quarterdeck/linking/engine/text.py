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
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)

WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)


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


def _sublinear(counts: Iterable[int]) -> np.ndarray:
    return 1.0 + np.log(np.fromiter(counts, dtype=np.float32))


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

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        vocab = self.vocabulary
        indptr = [0]
        indices: list[int] = []
        data: list[np.ndarray] = []
        for text in texts:
            counts = Counter(i for i in map(vocab.get, ngrams(text)) if i is not None)
            cols = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
            vals = (
                _sublinear(counts.values()) * self.idf[cols]
                if len(cols)
                else np.zeros(0, np.float32)
            )
            norm = float(np.sqrt(np.dot(vals, vals)))
            if norm > 0:
                vals = vals / norm
            indices.extend(cols.tolist())
            data.append(vals.astype(np.float32))
            indptr.append(len(indices))
        values = np.concatenate(data) if data else np.zeros(0, np.float32)
        return sparse.csr_matrix(
            (values, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
            shape=(len(texts), self.n_features),
            dtype=np.float32,
        )

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
