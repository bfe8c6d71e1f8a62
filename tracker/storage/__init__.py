"""Storage: engine and migrations (db.py), tables (rows.py), queries and writes (repo.py)."""
