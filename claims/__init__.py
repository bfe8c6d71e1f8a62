"""Courier claims: tables (config), the pure compensation engine, the ledger service, packets, reconciliation."""
