"""The serving copy of the default model: integer arithmetic instead of float.

The packaged model stores int8 *weights* but dequantises them when it loads, so every matrix
product runs in float32. Here its weights are folded to float32 once (onnxruntime's basic,
hardware-independent graph optimisations), then quantised again dynamically: int8 weights per
output channel, activations quantised per batch, products in int8 (``MatMulInteger``), which
modern CPUs run several times faster. The result is written once to a cache folder, next to a
small JSON record of what it was made from and its own sha256; a file that does not match its
record is made again. Nothing is downloaded: the input is the packaged, hash-checked model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

RECIPE = "fold-fp32+dynamic-int8-per-channel/1"


def cache_dir() -> Path:
    """Where prepared models live: QUARTERDECK_MODEL_DIR, else the user's cache folder."""
    env = os.environ.get("QUARTERDECK_MODEL_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "quarterdeck" / "models"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def _valid(model: Path, record: Path, expected: dict) -> bool:
    if not (model.is_file() and record.is_file()):
        return False
    try:
        saved = json.loads(record.read_text())
    except (OSError, ValueError):
        return False
    if any(saved.get(k) != v for k, v in expected.items()):
        return False
    return saved.get("sha256") == _sha256(model)


def prepared_model(source: Path, source_sha256: str, folder: Path | None = None) -> Path:
    """The path of the integer-arithmetic copy of ``source``, made now if missing or stale.

    Safe with several processes: each writes its own temporary file and renames it into place
    (the same input gives the same bytes).
    """
    folder = folder or cache_dir()
    stem = f"minilm-l6-dynint8-{source_sha256[:16]}"
    model, record = folder / f"{stem}.onnx", folder / f"{stem}.json"
    expected = {"source_sha256": source_sha256, "recipe": RECIPE, **_versions()}
    if _valid(model, record, expected):
        return model
    folder.mkdir(parents=True, exist_ok=True)
    _convert(source, model)
    tmp_record = record.with_name(f"{record.name}.{os.getpid()}.tmp")
    tmp_record.write_text(json.dumps({**expected, "sha256": _sha256(model)}, indent=1))
    os.replace(tmp_record, record)
    return model


def _convert(source: Path, target: Path) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        quantized = Path(tmp) / "quantized.onnx"
        quantize_dynamic(str(folded), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(quantized, target)
