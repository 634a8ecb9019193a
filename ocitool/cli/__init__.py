"""The `ocitool` command line: one lazy command table (app.py), one module per idea."""
