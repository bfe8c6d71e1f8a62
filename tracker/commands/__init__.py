"""CLI command groups. Each module exposes `register(app)`; tracker/cli.py lists them."""
