"""Kuaidi100 (快递100): client, signatures, parser, codes; `SPEC` registers it (tracker/providers/registry.py)."""

from tracker.providers.kuaidi100.spec import SPEC

__all__ = ["SPEC"]
