"""The docker backend (backend.py), driving the docker CLI against DOCKER_HOST."""
