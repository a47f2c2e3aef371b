"""Cache keys. An encoding is keyed by what its bytes depend on; a score by its encoding and
what the metric's number depends on (row version, backend version, weight digests)."""
from __future__ import annotations

import hashlib
import json


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def encoding_key(image_sha256: str, codec_id: str, adapter_version: str, codec_version: str,
                 params: dict, point) -> str:
    """The cache key of an encoding: image, codec, adapter and library versions, parameters, point."""
    return _digest({"image": image_sha256, "codec": codec_id, "adapter": adapter_version,
                    "library": codec_version, "params": params, "point": point})
