"""Collapsing: does a residual read the second derivatives only through their sum?

``d["xx"] + d["yy"]`` (also scaled, sliced, or mixed with terms that do not
involve them) can be served from one Laplacian, which costs a single
collapsed Taylor pass instead of one per coordinate.
"""

from __future__ import annotations

import jax.numpy as jnp

# Ops that map a value linearly and identically whatever it is (so applying
# them to d["xx"] and d["yy"] and then adding is applying them to the sum).
STRUCTURAL = {"convert_element_type", "reshape", "squeeze", "expand_dims", "broadcast_in_dim",
              "slice", "dynamic_slice", "gather", "transpose", "copy", "copy_p", "reduce_sum",
              "rev"}


def only_through_sum(jaxpr, forms: dict, diag: set) -> bool:
  """Linear-form propagation: does the jaxpr read the ``diag`` inputs only via their sum?

  A form is (signature of structural ops applied, {key: coefficient}) and
  stands for a value equal to that linear combination plus terms free of the
  seeds. Any other use "consumes" the form; every consumed form must weigh all
  ``diag`` keys equally.
  """
  consumed = []
  is_var = lambda v: type(v).__name__ != "Literal"
  for eqn in jaxpr.eqns:
    ins = [forms.get(v) if is_var(v) else None for v in eqn.invars]
    if not any(ins):
      continue
    name, out = eqn.primitive.name, None
    if name in ("add", "sub", "add_any"):
      a, b = ins
      if a and b and a[0] == b[0]:
        sign = -1.0 if name == "sub" else 1.0
        coefs = dict(a[1])
        for k, c in b[1].items():
          coefs[k] = coefs.get(k, 0.0) + sign * c
        out = (a[0], coefs)
      elif a and not b:
        out = a
      elif b and not a:
        out = (b[0], {k: (-c if name == "sub" else c) for k, c in b[1].items()})
    elif name == "neg":
      out = (ins[0][0], {k: -c for k, c in ins[0][1].items()})
    elif name == "mul" and sum(map(bool, ins)) == 1:
      lit = [v for v in eqn.invars if not is_var(v)]
      if lit and jnp.ndim(lit[0].val) == 0:
        f = ins[0] or ins[1]
        out = (f[0], {k: c * float(lit[0].val) for k, c in f[1].items()})
    elif name in STRUCTURAL and ins[0] and not any(ins[1:]):
      sig = (name, repr(sorted(eqn.params.items(), key=lambda kv: kv[0])),
             tuple(repr(v) for v in eqn.invars[1:]))
      out = (ins[0][0] + (sig,), ins[0][1])
    if out is not None and len(eqn.outvars) == 1:
      forms[eqn.outvars[0]] = out
      continue
    consumed.extend(f for f in ins if f)
  consumed.extend(forms[v] for v in jaxpr.outvars if is_var(v) and v in forms)
  for _, coefs in consumed:
    nz = {k: c for k, c in coefs.items() if abs(c) > 0}
    if nz and (set(nz) != diag or len(set(nz.values())) != 1):
      return False
  return True
