"""The model's fit cache: posterior draws keyed by a hash of the history rows and the model and
inference config, `<storage root>/_fit_cache/<fit_key>.npz`, so races whose history is
identical (two slates of one race, a re-run) reuse one fit. Written by the one atomic writer
(storage/atomic.py: temporary file + rename on a file system, one PUT on S3)."""

import io
import json

import numpy as np
from upath import UPath

from nascar_pipeline.storage.atomic import write_bytes_atomic
from nascar_pipeline.storage.layout import StorageLayout

FIT_CACHE_DIR = "_fit_cache"


class FitCache:
    def __init__(self, layout: StorageLayout):
        self.layout = layout
        self.root: UPath = layout.root / FIT_CACHE_DIR

    def path(self, fit_key: str) -> UPath:
        return self.root / f"{fit_key}.npz"

    def save(self, fit_key: str, posterior: dict, meta: dict) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, **posterior, __meta__=np.array(json.dumps(meta, default=float)))
        write_bytes_atomic(self.path(fit_key), buf.getvalue())

    def load(self, fit_key: str) -> tuple[dict, dict] | None:
        """(posterior draws by site, meta), or None when the fit is not cached."""
        path = self.path(fit_key)
        if not self.layout.exists(path):
            return None
        z = np.load(io.BytesIO(self.layout.read_bytes(path)), allow_pickle=False)
        posterior = {k: z[k] for k in z.files if k != "__meta__"}
        return posterior, json.loads(str(z["__meta__"]))
