"""Taobao Open Platform logistics trace (taobao.logistics.trace.search): client, signature, parser, codes;
`SPEC` registers it (tracker/providers/registry.py)."""

from tracker.providers.taobao.spec import SPEC

__all__ = ["SPEC"]
