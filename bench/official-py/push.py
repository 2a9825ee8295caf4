"""Pushes every file of a folder with Coveo's official Python client (coveo-push-api-client.py),
the way its documentation shows: read each file, compress it, base64 it, build the document with
DocumentBuilder, and send the documents in batches through file containers.

The client's hosts are private methods, so they are overridden to point at the emulator. The
client has no change detection and no batch splitting: batches are cut at 5 MB, the cap its
sibling clients use. Its retries are mounted for https only, and the emulator speaks http.

usage: COVEO_API_KEY=... python push.py --folder DIR --origin URL --org ORG --source SOURCE
"""
import argparse
import base64
import json
import os
import pathlib
import sys
import zlib

from push_api_clientpy import BatchUpdate, DocumentBuilder, Source
from push_api_clientpy.platformclient import PlatformClient

BATCH_BYTES = 5 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("folder", "origin", "org", "source"):
        parser.add_argument(f"--{name}", required=True)
    opts = parser.parse_args()

    PlatformClient._PlatformClient__basePushURL = (
        lambda self: f"{opts.origin}/push/v1/organizations/{self.organizationid}"
    )
    PlatformClient._PlatformClient__basePlatformURL = (
        lambda self: f"{opts.origin}/rest/organizations/{self.organizationid}"
    )
    source = Source(os.environ["COVEO_API_KEY"], opts.org)

    batch, batch_bytes, files = [], 0, 0

    def flush():
        nonlocal batch, batch_bytes
        if batch:
            res = source.batchUpdateDocuments(opts.source, BatchUpdate(addOrUpdate=batch, delete=[]))
            if res.status_code != 202:
                raise SystemExit(f"batch refused: HTTP {res.status_code} {res.text}")
        batch, batch_bytes = [], 0

    for path in sorted(pathlib.Path(opts.folder).rglob("*")):
        if not path.is_file():
            continue
        data = base64.b64encode(zlib.compress(path.read_bytes())).decode("ascii")
        doc = (
            DocumentBuilder(path.absolute().as_uri(), path.name)
            .withCompressedBinaryData(data, "ZLIB")
            .withFileExtension(path.suffix or ".bin")
        )
        size = len(json.dumps(doc.marshal()))
        if batch_bytes + size >= BATCH_BYTES:
            flush()
        batch.append(doc)
        batch_bytes += size
        files += 1
    flush()
    print(json.dumps({"files": files}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
