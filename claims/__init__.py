"""Courier claims: engine, lifecycle service, XLSX packets, reconciliation."""
