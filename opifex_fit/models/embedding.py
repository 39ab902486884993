"""Input embeddings in front of a network: one module or a chain of them."""

from __future__ import annotations

import jax
from flax import nnx


class EmbeddingChain(nnx.Module):
  """Applies embeddings in order (e.g. ``PeriodicEmbedding`` then ``FourierFeatures``).

  Each embedding must declare ``in_features`` and ``out_features``, and each
  one's ``out_features`` must be the next one's ``in_features``.

  Example:
    >>> from opifex_fit.models import FourierFeatures, PeriodicEmbedding
    >>> chain = EmbeddingChain([PeriodicEmbedding(2, axes=(1,), period=2.0),
    ...                         FourierFeatures(3, 16, rngs=nnx.Rngs(0))])
    >>> chain.in_features, chain.out_features
    (2, 16)
  """

  def __init__(self, embeddings):
    embeddings = list(embeddings)
    if not embeddings:
      raise ValueError("embedding must be None, a module or a non-empty list of modules; got []")
    for i, emb in enumerate(embeddings):
      if not isinstance(emb, nnx.Module) or not all(
          isinstance(getattr(emb, a, None), int) for a in ("in_features", "out_features")):
        raise TypeError(f"embedding[{i}] must be an nnx.Module with int in_features and"
                        f" out_features attributes; got {type(emb).__name__}")
      if i and emb.in_features != embeddings[i - 1].out_features:
        raise ValueError(f"embedding[{i}].in_features={emb.in_features} does not match"
                         f" embedding[{i - 1}].out_features={embeddings[i - 1].out_features}")
    self.layers = nnx.List(embeddings)
    self.in_features = embeddings[0].in_features
    self.out_features = embeddings[-1].out_features

  def __call__(self, x: jax.Array) -> jax.Array:
    for layer in self.layers:
      x = layer(x)
    return x


def build_embedding(embedding, in_features: int) -> tuple[nnx.Module | None, int]:
  """``(module or None, size after it)`` for a model's ``embedding`` argument."""
  if embedding is None:
    return None, in_features
  chain = EmbeddingChain(embedding if isinstance(embedding, (list, tuple)) else [embedding])
  if chain.in_features != in_features:
    raise ValueError(f"embedding.in_features={chain.in_features} must equal the model's"
                     f" in_features={in_features}")
  return chain, chain.out_features
