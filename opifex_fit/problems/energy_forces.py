"""EnergyForces: fit a potential-energy surface to energies and forces.

Conventions: the model maps positions ``(N, atoms, 3)`` to energies ``(N,)``;
forces are ``F = -dE/dR``, taken by autodiff inside the loss (so inside the
jitted chunk, with no host work per step). The datasets of this package use
atomic units (Bohr, Hartree, Hartree/Bohr); the ``*_kcal`` metrics convert to
kcal/mol and kcal/mol/Angstrom, the units of the sGDML/GDML papers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.problems.base import Problem, probe_model, to_device_tree

HARTREE_TO_KCAL_MOL = 627.509474
BOHR_TO_ANGSTROM = 0.529177210903
CHEMICAL_ACCURACY = 1.0 / HARTREE_TO_KCAL_MOL  # 1 kcal/mol = 1.594e-3 Hartree

METRICS = ("energy_mae", "force_mae", "energy_mae_kcal", "force_mae_kcal")


def energy_and_forces(model, positions):
  """``(E (N,), F = -dE/dR (N, atoms, 3))``; each energy depends only on its own
  geometry, so the gradient of the sum is every geometry's gradient."""
  energies, pullback = jax.vjp(model, positions)
  (grad,) = pullback(jnp.ones_like(energies))
  return energies, -grad


class EnergyForces(Problem):
  """Energies and forces of one molecule: two loss terms, ``energy`` and ``forces``.

  ``loss = w_energy * mean((E - E_ref)**2) + w_forces * mean((F - F_ref)**2)``
  with ``F = -dE/dR`` of the model (the force mean runs over all ``3 * atoms``
  components). Logged as ``energy_loss`` and ``forces_loss``. Evaluation also
  reports ``energy_mae``, ``force_mae`` (data units: Hartree, Hartree/Bohr)
  and ``energy_mae_kcal``, ``force_mae_kcal`` (kcal/mol, kcal/mol/Angstrom),
  available as ``val_energy_mae`` and so on (``cb.ChemicalAccuracy`` watches
  ``val_energy_mae``).

  Example:
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> r = np.linspace(1.0, 2.5, 32)  # a Morse-like H2 curve, Bohr and Hartree
    >>> pos = np.stack([np.zeros((32, 3)), np.c_[r, 0 * r, 0 * r]], axis=1)
    >>> e = (1 - np.exp(-(r - 1.4))) ** 2 / 6
    >>> f = np.zeros_like(pos)
    >>> f[:, 1, 0] = -np.exp(-(r - 1.4)) * (1 - np.exp(-(r - 1.4))) / 3
    >>> f[:, 0, 0] = -f[:, 1, 0]
    >>> model = of.models.InvariantPES([1, 1], [16], reference=(pos, e), rngs=nnx.Rngs(0))
    >>> learner = of.Learner(model, of.EnergyForces(atomic_numbers=[1, 1]), optax.adam(1e-2))
    >>> history = learner.fit((pos, e, f), steps=300, verbose=0)
    >>> learner.evaluate((pos, e, f))["energy_mae"] < 1e-2
    True

  Args:
    w_energy: the weight of the energy term.
    w_forces: the weight of the force term (forces carry ``3 * atoms`` numbers
      per geometry, and the GDML papers find them the better teacher).
    atomic_numbers: the molecule's atoms in the order of the positions; if
      omitted, the model's ``atomic_numbers`` attribute (``InvariantPES`` has
      one). When both exist they must agree.
  """

  def __init__(self, w_energy: float = 1.0, w_forces: float = 1.0, *, atomic_numbers=None):
    for name, value in (("w_energy", w_energy), ("w_forces", w_forces)):
      if isinstance(value, bool) or not isinstance(value, (int, float)) \
          or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite non-negative number; got {value!r}")
    self.w_energy, self.w_forces = float(w_energy), float(w_forces)
    if atomic_numbers is not None:
      z = np.asarray(atomic_numbers)
      if z.ndim != 1 or z.size < 1 or not np.issubdtype(z.dtype, np.integer) or np.any(z < 1):
        raise ValueError(f"atomic_numbers must be a list of positive ints (e.g. [8, 1, 1]);"
                         f" got {atomic_numbers!r}")
      atomic_numbers = tuple(int(a) for a in z)
    self.atomic_numbers = atomic_numbers

  def term_names(self):
    return ("energy", "forces")

  def default_weights(self):
    return {"energy": self.w_energy, "forces": self.w_forces}

  def prepare(self, model, data, argname: str = "data"):
    if not (isinstance(data, (tuple, list)) and len(data) == 3):
      raise TypeError(f"{argname} must be a triple (positions (N, atoms, 3), energies (N,), "
                      f"forces (N, atoms, 3)); got {type(data).__name__}"
                      f"{f' of length {len(data)}' if isinstance(data, (tuple, list)) else ''}")
    names = ("positions", "energies", "forces")
    pos, e, f = (to_device_tree(a, f"{argname}[{i}] ({n})")
                 for i, (n, a) in enumerate(zip(names, data)))
    z = self._atoms(model, argname)
    want = "(N, atoms, 3)" if z is None else f"(N, {len(z)}, 3) for the atoms {list(z)}"
    if pos.ndim != 3 or pos.shape[-1] != 3 or (z is not None and pos.shape[1] != len(z)):
      raise ValueError(f"{argname}[0] (positions) must have shape {want}; got {pos.shape}")
    if e.shape != pos.shape[:1]:
      raise ValueError(f"{argname}[1] (energies) must have shape ({pos.shape[0]},), one per "
                       f"geometry; got {e.shape}")
    if f.shape != pos.shape:
      raise ValueError(f"{argname}[2] (forces) must have the positions' shape {pos.shape}; "
                       f"got {f.shape}")
    out = probe_model(model, pos, argname, "positions")
    if out.shape != e.shape:
      raise ValueError(f"{argname}: the model maps positions {pos.shape} to shape "
                       f"{out.shape}; expected one energy per geometry, shape {e.shape}")
    return (pos, e, f)

  def _atoms(self, model, argname) -> tuple[int, ...] | None:
    """The atomic numbers, after checking the problem's and the model's agree."""
    mine, theirs = self.atomic_numbers, getattr(model, "atomic_numbers", None)
    if mine is not None and theirs is not None and tuple(theirs) != mine:
      raise ValueError(f"{argname}: EnergyForces(atomic_numbers={list(mine)}) does not match "
                       f"the model's atomic_numbers {list(theirs)}; expected the same atoms "
                       f"in the same order")
    z = mine if mine is not None else theirs
    return None if z is None else tuple(z)

  def loss_terms(self, model, data):
    pos, e, f = data
    energies, forces = energy_and_forces(model, pos)
    return {"energy": jnp.mean((energies - e) ** 2), "forces": jnp.mean((forces - f) ** 2)}

  def metric_names(self):
    return METRICS

  def metrics(self, model, data):
    pos, e, f = data
    energies, forces = energy_and_forces(model, pos)  # the loss's own pass: XLA keeps one
    energy_mae, force_mae = jnp.mean(jnp.abs(energies - e)), jnp.mean(jnp.abs(forces - f))
    return {"energy_mae": energy_mae, "force_mae": force_mae,
            "energy_mae_kcal": energy_mae * HARTREE_TO_KCAL_MOL,
            "force_mae_kcal": force_mae * HARTREE_TO_KCAL_MOL / BOHR_TO_ANGSTROM}

  def __repr__(self):
    return f"EnergyForces(w_energy={self.w_energy}, w_forces={self.w_forces})"
