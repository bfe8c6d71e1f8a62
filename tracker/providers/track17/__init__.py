"""17TRACK: client, signature, parser, codes; `SPEC` registers it (tracker/providers/registry.py)."""

from tracker.providers.track17.spec import SPEC

__all__ = ["SPEC"]
