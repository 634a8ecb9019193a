"""How fast `ocitool images` reads a 200-image OCI store, against one skopeo call per image.

    .venv/bin/python bench/oci_store.py [--images 200] [--runs 5]

Builds a store of N images that share a base layer (one import, then
`umoci config --tag` per image, each with its own label), then times:
ocitool's CLI and API listing every image with names, size and layers, and
the per-image alternative, `skopeo inspect oci:STORE:NAME` for each image.
Prints medians; the store is made in a temporary folder and removed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ocitool import Client  # noqa: E402
from tests.lab import busybox_tar  # noqa: E402


def build(store: Path, count: int) -> list[str]:
    client = Client(backend="oci", store=store)
    client.import_image(busybox_tar(store.parent), "bench/base:1")
    names = []
    for i in range(count):
        name = f"bench/img:{i}"
        subprocess.run(
            [
                "umoci",
                "config",
                f"--image={store}:bench/base:1",
                f"--tag={name}",
                f"--config.label=n={i}",
                f"--history.comment=image {i}",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        names.append(name)
    return names


def median_seconds(action: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocitool-bench-") as tmp:
        store = Path(tmp) / "store"
        started = time.perf_counter()
        names = build(store, args.images)
        print(f"built {len(names)} images (+1 base) in {time.perf_counter() - started:.1f}s")
        cli = [
            sys.executable,
            "-m",
            "ocitool",
            "--backend",
            "oci",
            "--store",
            str(store),
            "images",
            "--format",
            "json",
        ]

        def ocitool_cli() -> None:
            out = subprocess.run(cli, check=True, capture_output=True, text=True).stdout
            assert len(json.loads(out)) == len(names) + 1

        def ocitool_api() -> None:
            assert len(Client(backend="oci", store=store).images()) == len(names) + 1

        def skopeo_each() -> None:
            for name in names:
                subprocess.run(
                    ["skopeo", "inspect", f"oci:{store}:{name}"], check=True, capture_output=True
                )

        results = {
            "ocitool images --format json (CLI, whole process)": median_seconds(
                ocitool_cli, args.runs
            ),
            "Client(backend='oci').images() (API)": median_seconds(ocitool_api, args.runs),
            f"skopeo inspect, one per image ({len(names)} calls)": median_seconds(
                skopeo_each, max(1, args.runs // 2)
            ),
        }
        for label, seconds in results.items():
            print(f"{label:55s} median {seconds * 1000:8.1f} ms")
        cli_seconds, _, skopeo_seconds = results.values()
        print(f"ocitool's CLI is {skopeo_seconds / cli_seconds:.1f}x faster than skopeo per image")


if __name__ == "__main__":
    main()
