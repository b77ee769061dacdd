"""Insight intelligence engine: embeddings, link suggestions, duplicates, themes, search.

Pure Python + numpy/scipy (+ onnxruntime/tokenizers for the default model); no Django here.
"""

from .duplicates import duplicate_groups, duplicate_pairs, index_duplicates, is_duplicate, nearest
from .evaluate import evaluate_duplicates, evaluate_linking, read_labelled_csv
from .index import VectorIndex
from .linker import Linker, LinkerConfig, LinkResult, Suggestion
from .providers import (
    EmbeddingProvider,
    HttpProvider,
    OnnxMiniLMProvider,
    ProviderError,
    TfidfProvider,
    get_provider,
)
from .themes import Theme, cluster_themes

__all__ = [
    "EmbeddingProvider",
    "HttpProvider",
    "LinkResult",
    "Linker",
    "LinkerConfig",
    "OnnxMiniLMProvider",
    "ProviderError",
    "Suggestion",
    "TfidfProvider",
    "Theme",
    "VectorIndex",
    "cluster_themes",
    "duplicate_groups",
    "duplicate_pairs",
    "evaluate_duplicates",
    "evaluate_linking",
    "get_provider",
    "index_duplicates",
    "is_duplicate",
    "nearest",
    "read_labelled_csv",
]
