"""Data parallelism over a device mesh: where every array of the fit lives.

``of.Learner(model, problem, mesh=mesh)`` trains data-parallel with JAX's own
SPMD machinery: the leading (example / collocation point) dimension of the
training data is split over the mesh's data axis with
``NamedSharding(mesh, P("data"))``; parameters, optimizer state and every
other state field are replicated; the chunk is jitted with these shardings as
``in_shardings``/``out_shardings`` and every batch is constrained to the data
axis, so XLA inserts the gradient all-reduce. Nothing else changes: the loss
is the same global mean, so a fit on 4 devices gives the losses of a fit on
one device up to float summation order.

Point counts that do not divide the number of devices are never dropped:

* A problem may pad its own data (``Problem.pad_for_devices``): rows it can
  add without changing the loss, e.g. masked copies of a point of a term it
  averages with a mask. ``learner.data`` then shows the padded form; writing
  the unpadded form back is padded again. This module asks the problem and
  knows no problem types.
* Every other leaf whose leading dimension does not divide (supervised
  examples, observations) is replicated instead: exact for any loss,
  including user-supplied ones, and the chunk still splits its computation
  over the devices (a sharding constraint on an uneven intermediate is exact
  in XLA). It costs memory on each device, not compute.

Checkpoints restore on any device count: ``pad`` keeps the problem's record
of what it added, ``unpad`` has the problem cut exactly that (the view one
device holds, which ``Checkpoint`` writes), and the learner's ``state``
setter pads the restored data again for the mesh it runs on. Rows a term
masks for its own reasons (free slots of a buffer) are never cut.

Callbacks' own jitted functions follow the same rules through
``learner.compile`` (``opifex_fit.engine.services``): their training data and
every batch of candidate points (resampling callbacks) are split over the data axis
(``constrain``) and their results come back replicated.

Several processes (``jax.distributed.initialize()``): the mesh spans every
process's devices; each process passes the same global data to ``fit`` and
transfers only the rows its own devices hold (``jax.make_array_from_callback``).
See ``examples/multihost.md``.

Example:
  >>> import numpy as np, optax
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> mesh = of.data_parallel_mesh()           # 1-D mesh over all devices
  >>> x = np.linspace(-1, 1, 256)[:, None]; y = np.sin(3 * x)
  >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)),
  ...                      of.Supervised(), optax.adam(1e-2), mesh=mesh)
  >>> history = learner.fit((x, y), steps=50, verbose=0)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P


def data_parallel_mesh(devices=None, axis_name: str = "data") -> Mesh:
  """A 1-D mesh named ``axis_name`` over ``devices`` (default: ``jax.devices()``,
  i.e. all local devices in one process and all devices of all processes
  under ``jax.distributed``).

  >>> import opifex_fit as of
  >>> of.data_parallel_mesh().axis_names
  ('data',)
  """
  if not isinstance(axis_name, str) or not axis_name:
    raise ValueError(f"axis_name must be a non-empty string; got {axis_name!r}")
  devices = jax.devices() if devices is None else list(devices)
  if not devices:
    raise ValueError("devices must hold at least one device; got an empty list")
  return Mesh(np.array(devices), (axis_name,), axis_types=(AxisType.Auto,))


class DataParallel:
  """The placement rules of one learner: which sharding every state leaf gets,
  the problem's padding of its data, and the constraint on batches inside jit."""

  def __init__(self, mesh, axis: str = "data"):
    if not isinstance(mesh, Mesh):
      raise TypeError(f"mesh must be a jax.sharding.Mesh (e.g. of.data_parallel_mesh()); got"
                      f" {mesh!r} of type {type(mesh).__name__}")
    if axis not in mesh.axis_names:
      raise ValueError(f"data_axis={axis!r} is not an axis of the mesh; its axes are"
                       f" {tuple(mesh.axis_names)}")
    # GSPMD ("Auto") partitioning: the model and the problem are written for
    # global arrays, and XLA decides the collectives. jax.make_mesh defaults to
    # Explicit axes, which would ask every op for sharding rules.
    self.mesh = Mesh(mesh.devices, mesh.axis_names,
                     axis_types=(AxisType.Auto,) * len(mesh.axis_names))
    self.axis = axis
    self.size = int(mesh.shape[axis])
    self.replicated = NamedSharding(self.mesh, P())
    self.split = NamedSharding(self.mesh, P(axis))
    # The problem's record of what ``pad`` added to the state's data, so
    # ``unpad`` cuts exactly that (see ``place_state``).
    self.logical: dict = {}
    self._head = jax.jit(lambda a, n: a[:n], static_argnums=1, out_shardings=self.replicated)

  def __repr__(self):
    return f"DataParallel(axis={self.axis!r}, devices={self.size}, mesh={dict(self.mesh.shape)})"

  # -- which sharding ------------------------------------------------------------
  def leaf_sharding(self, leaf) -> NamedSharding:
    """Split along the data axis when the leading dimension divides, else replicated."""
    shape = np.shape(leaf)
    if len(shape) >= 1 and shape[0] > 0 and shape[0] % self.size == 0:
      return self.split
    return self.replicated

  def data_shardings(self, data):
    return jax.tree.map(self.leaf_sharding, data)

  def state_shardings(self, state):
    """A TrainState-shaped prefix tree: data leaves by ``leaf_sharding``, the rest replicated."""
    fields = {f: self.replicated for f in state.__dataclass_fields__}
    return state.replace(**{**fields, "data": self.data_shardings(state.data)})

  def layout(self, data) -> tuple:
    """A hashable summary of the data's structure, shapes and shardings (a cache key)."""
    leaves, treedef = jax.tree.flatten(data)
    return treedef, tuple((np.shape(a), self.leaf_sharding(a) is self.split) for a in leaves)

  # -- padding -------------------------------------------------------------------
  def pad(self, problem, data):
    """``data`` as the problem pads it for this device count."""
    return self._pad(problem, data)[0]

  def _pad(self, problem, data):
    """``(padded data, record)`` from ``problem.pad_for_devices``."""
    if data is None or self.size == 1:
      return data, {}
    return problem.pad_for_devices(data, self.size, self.logical)

  def unpad(self, problem, data):
    """The training data as one device holds it: what checkpoints store, so
    they restore on any device count (``problem.unpad_for_devices``)."""
    if not self.logical:
      return data
    return problem.unpad_for_devices(data, self.logical, self._head)

  # -- placing -------------------------------------------------------------------
  def place(self, tree, shardings=None):
    """``tree`` on the mesh (by ``leaf_sharding`` unless ``shardings`` is given)."""
    shardings = self.data_shardings(tree) if shardings is None else shardings
    return jax.tree.map(_put, tree, shardings)

  def place_state(self, state, problem):
    # Every write of the state comes through here: the record of what was
    # padded is kept in step with the state's data (``learner.data``'s own
    # ``pad`` call, which may still be refused, records nothing).
    data, self.logical = self._pad(problem, state.data)
    state = state.replace(data=data)
    # The shardings are a prefix tree (one sharding per field but data).
    return jax.tree.map(lambda s, sub: jax.tree.map(lambda a: _put(a, s), sub),
                        self.state_shardings(state), state)

  def constrain(self, tree):
    """Inside jit: split every array's leading dimension over the data axis.

    Exact for any size (XLA pads uneven shards internally) and free for data
    that is already split; replicated inputs are sliced locally.
    """
    def one(a):
      return jax.lax.with_sharding_constraint(a, self.split) if a.ndim >= 1 else a
    return jax.tree.map(one, tree)


def host_value(x) -> np.ndarray:
  """``x`` as numpy, also when its shards live in several processes (every
  process gets the whole value: a collective, so call it on all processes)."""
  if not isinstance(x, jax.Array) or x.is_fully_addressable or x.is_fully_replicated:
    return np.asarray(x)
  from jax.experimental import multihost_utils  # noqa: PLC0415 - multi-process only
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def jit_replicated(fn, placement):
  """``jax.jit(fn)``; on a mesh (``placement`` not None) its outputs come back
  replicated, readable on every process; inputs keep their own shardings."""
  if placement is None:
    return jax.jit(fn)
  return jax.jit(fn, out_shardings=placement.replicated)


def placement_of(learner):
  """The learner's ``DataParallel`` (None: no mesh, one device)."""
  return learner.placement


def logical_state(learner):
  """``learner.state`` with its data as one device holds it (``DataParallel.unpad``)."""
  placement, state = placement_of(learner), learner.state
  return state if placement is None else \
      state.replace(data=placement.unpad(learner.problem, state.data))


def _put(leaf, sharding):
  if getattr(leaf, "sharding", None) == sharding:
    return leaf
  if jax.process_count() == 1 or (isinstance(leaf, jax.Array) and not leaf.is_fully_addressable):
    return jax.device_put(leaf, sharding)
  # Several processes and a process-local value (every process holds the same
  # one): each process transfers only the shards its own devices hold.
  if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
    impl = jax.random.key_impl(leaf)
    return jax.random.wrap_key_data(_put(jax.random.key_data(leaf), sharding), impl=impl)
  host = np.asarray(leaf)
  return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
