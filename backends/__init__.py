"""The engine backends, installed as `ocitool.backends` (ocitool/backends links here).

One package per engine (docker/, podman/, oci/), each of the same shape:
`backend.py` the engine's class, `parsers.py` its output as models,
`failures.py` its errors as ocitool's, `store.py` its files read directly.
`common/` holds what the docker-style CLIs share, `skopeo.py` the copy mover,
and `registry.py` how a backend is found, chosen and loaded by name.
"""
