"""Kdniao (快递鸟): client, signatures, parser, codes; `SPEC` registers it (tracker/providers/registry.py)."""

from tracker.providers.kdniao.spec import SPEC

__all__ = ["SPEC"]
