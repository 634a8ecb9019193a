"""The podman backend (backend.py), driving the podman CLI, root or rootless."""
