"""The daemonless backend (backend.py): an OCI image layout written with umoci, run with runc."""
