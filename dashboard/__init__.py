"""The board: a Streamlit app for warehouse leads (entrypoint dashboard/app.py).

Reads go through dashboard/data.py (plain SQL functions over an engine, cached by the shell); every
action calls the owning service (tracker.flags.lifecycle, claims service) with the logged-in user."""
