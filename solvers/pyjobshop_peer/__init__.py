"""The `pyjobshop` peer: PyJobShop (optional extra `.[peers]`) on our instances."""

from solvers.pyjobshop_peer.solver import PyJobShopSolver

__all__ = ["PyJobShopSolver"]
