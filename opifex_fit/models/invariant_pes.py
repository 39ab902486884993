"""InvariantPES: a molecule's energy E(R) that is symmetric by construction.

The descriptor of a geometry is built from inverse pairwise distances
``u_ij = 1 / |R_i - R_j|`` (GDML's descriptor), grouped by element pair
(``O-H``, ``H-H``, ...). Within a group, identical atoms can be swapped, so
the group enters only through its power sums ``sum_ij ((u_ij - c) / w)**p``
for ``p = 1 .. min(group size, max_degree)``: smooth (forces stay continuous
where two distances cross, unlike sorting) and, by Newton's identities,
complete for groups of up to ``max_degree`` pairs (water's two O-H distances,
for instance). Distances make it invariant to translations, rotations and
reflections; sums make it invariant to permutations of identical atoms. An
MLP maps the standardized descriptor to the energy.

Units are the caller's; the datasets of this package use Bohr and Hartree.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx

from opifex_fit.models.mlp import MLP


class Scaling(nnx.Variable):
  """Fixed standardization constants (stored, never trained)."""


def pair_groups(atomic_numbers) -> tuple[tuple[tuple[int, int], tuple[int, ...]], ...]:
  """``((Za, Zb), indices into the i<j pair list)`` per element pair, Za <= Zb,
  sorted; tuples, so that the model's static structure is hashable."""
  z = [int(a) for a in atomic_numbers]
  groups: dict[tuple[int, int], list[int]] = {}
  for k, (i, j) in enumerate(zip(*np.triu_indices(len(z), 1))):
    groups.setdefault(tuple(sorted((z[i], z[j]))), []).append(k)
  return tuple((key, tuple(groups[key])) for key in sorted(groups))


def power_sums(u, degree: int):
  """``sum_k u[..., k]**p`` for ``p = 1 .. degree``: ``(..., k) -> (..., degree)``."""
  powers = [u]
  for _ in range(degree - 1):
    powers.append(powers[-1] * u)
  return jnp.stack([jnp.sum(p, axis=-1) for p in powers], axis=-1)


def inverse_distances(positions):
  """``1 / r_ij`` for the pairs ``i < j``: ``(..., atoms, 3) -> (..., pairs)``."""
  i, j = np.triu_indices(positions.shape[-2], 1)
  diff = positions[..., i, :] - positions[..., j, :]
  return 1.0 / jnp.sqrt(jnp.sum(diff ** 2, axis=-1))


def _check_atomic_numbers(atomic_numbers) -> tuple[int, ...]:
  z = np.asarray(atomic_numbers)
  if z.ndim != 1 or z.size < 2 or not np.issubdtype(z.dtype, np.integer) or np.any(z < 1):
    raise ValueError(f"atomic_numbers must be a list of at least two positive ints (e.g. "
                     f"[8, 1, 1] for water); got {atomic_numbers!r}")
  return tuple(int(a) for a in z)


class InvariantPES(nnx.Module):
  """Energy of one molecule: ``model(positions (N, atoms, 3)) -> (N,)``.

  Example:
    >>> import numpy as np
    >>> from flax import nnx
    >>> model = InvariantPES([8, 1, 1], [32, 32], rngs=nnx.Rngs(0))
    >>> water = np.array([[[0.0, 0.0, 0.0], [1.8, 0.0, 0.0], [-0.45, 1.75, 0.0]]])
    >>> model(water).shape
    (1,)

  Args:
    atomic_numbers: the molecule's atoms in the order of the positions,
      e.g. ``[8, 1, 1]``.
    hidden: the MLP's hidden layer sizes.
    activation: a smooth activation (forces differentiate it twice in
      training); a name of ``of.models.MLP`` or a callable.
    max_degree: the highest power sum kept per element-pair group.
    reference: optional ``(positions, energies)`` of the training set; sets
      the standardization (descriptor centres and widths, energy mean and
      spread) so that the MLP works on O(1) numbers and its zero output is the
      mean energy. Without it, descriptors are raw and energies unshifted.
  """

  def __init__(self, atomic_numbers: Sequence[int], hidden: Sequence[int] = (64, 64), *,
               activation="tanh", max_degree: int = 4, reference=None, rngs: nnx.Rngs):
    self.atomic_numbers = _check_atomic_numbers(atomic_numbers)
    if isinstance(max_degree, bool) or not isinstance(max_degree, int) or max_degree < 1:
      raise ValueError(f"max_degree must be a positive int; got {max_degree!r}")
    self.groups = pair_groups(self.atomic_numbers)
    self.degrees = tuple(min(len(idx), max_degree) for _, idx in self.groups)
    n_features = sum(self.degrees)
    self.net = MLP(n_features, [*hidden, 1], activation, rngs=rngs)
    n_pairs = len(self.atomic_numbers) * (len(self.atomic_numbers) - 1) // 2
    self.centre, self.width = Scaling(jnp.zeros(n_pairs)), Scaling(jnp.ones(n_pairs))
    self.mean, self.std = Scaling(jnp.zeros(n_features)), Scaling(jnp.ones(n_features))
    self.energy_shift, self.energy_scale = Scaling(jnp.zeros(())), Scaling(jnp.ones(()))
    if reference is not None:
      self._standardize(*reference)

  @property
  def n_atoms(self) -> int:
    return len(self.atomic_numbers)

  def descriptor(self, positions):
    """The invariant features ``(..., atoms, 3) -> (..., features)``, standardized."""
    self.check_positions(positions)
    u = (inverse_distances(positions) - self.centre[...]) / self.width[...]
    parts = [power_sums(u[..., np.asarray(idx)], degree)
             for (_, idx), degree in zip(self.groups, self.degrees)]
    return (jnp.concatenate(parts, axis=-1) - self.mean[...]) / self.std[...]

  def __call__(self, positions):
    out = self.net(self.descriptor(positions))[..., 0]
    return self.energy_shift[...] + self.energy_scale[...] * out

  def check_positions(self, positions) -> None:
    """A clear error (at trace time, before compiling) for a wrong atom count."""
    shape = np.shape(positions)
    if len(shape) < 2 or shape[-1] != 3 or shape[-2] != self.n_atoms:
      raise ValueError(f"positions must have shape (..., {self.n_atoms}, 3) for the model's "
                       f"{self.n_atoms} atoms {list(self.atomic_numbers)}; got shape {shape}")

  def _standardize(self, positions, energies):
    positions, energies = np.asarray(positions, np.float64), np.asarray(energies, np.float64)
    self.check_positions(positions)
    if energies.shape != positions.shape[:1] or positions.ndim != 3:
      raise ValueError(f"reference must be (positions (N, {self.n_atoms}, 3), energies (N,));"
                       f" got shapes {positions.shape} and {energies.shape}")
    u = np.asarray(inverse_distances(positions))
    centre, width = np.zeros(u.shape[1]), np.ones(u.shape[1])
    for _, idx in self.groups:  # one centre and width per group keeps the symmetry
      idx = np.asarray(idx)
      centre[idx], width[idx] = u[:, idx].mean(), max(u[:, idx].std(), 1e-6)
    self.centre[...], self.width[...] = jnp.asarray(centre), jnp.asarray(width)
    d = np.asarray(self.descriptor(positions))
    self.mean[...], self.std[...] = jnp.asarray(d.mean(0)), jnp.asarray(np.maximum(d.std(0), 1e-6))
    self.energy_shift[...] = jnp.asarray(energies.mean())
    self.energy_scale[...] = jnp.asarray(max(energies.std(), 1e-6))
