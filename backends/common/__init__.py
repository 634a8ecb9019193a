"""What docker and podman share: a CLI with docker's verbs, its listing and history."""
