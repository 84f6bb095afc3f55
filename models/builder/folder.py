"""Writing a model folder: safetensors, HF json files, SHA256SUMS."""
import json
import os
import shutil
import struct

import numpy as np
import torch

from common import dumps_json, sha256_file, write_json

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64"}


def _tensor_bytes(t):
    """(safetensors dtype, shape, little-endian bytes); bfloat16 has no numpy type, so its bits go as int16."""
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return "BF16", list(t.shape), t.view(torch.int16).numpy().astype("<i2").tobytes()
    arr = np.ascontiguousarray(t.numpy())
    return _DTYPES[arr.dtype], list(arr.shape), arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()


def write_safetensors(path, tensors):
    """Minimal safetensors writer: u64-LE header size, JSON header, raw LE data.

    Tensors are laid out in name order; the header is padded with spaces to a
    multiple of 8 bytes so the data section starts aligned, as the format allows.
    """
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dtype, shape, data = _tensor_bytes(tensors[name])
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def reset_dir(path):
    # Start from an empty folder so a renamed or dropped file never lingers and
    # ends up in SHA256SUMS.
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def write_common(folder, config, tokenizer, tok_config, generation_config, state_dict):
    write_json(os.path.join(folder, "config.json"), config)
    write_json(os.path.join(folder, "tokenizer.json"), tokenizer)
    write_json(os.path.join(folder, "tokenizer_config.json"), tok_config)
    if generation_config is not None:
        write_json(os.path.join(folder, "generation_config.json"), generation_config)
    write_safetensors(os.path.join(folder, "model.safetensors"), state_dict)


def write_sha256sums(folder):
    files = []
    for root, _, names in os.walk(folder):
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), folder).replace(os.sep, "/")
            if rel != "SHA256SUMS":
                files.append(rel)
    lines = [f"{sha256_file(os.path.join(folder, rel))}  {rel}\n" for rel in sorted(files)]
    with open(os.path.join(folder, "SHA256SUMS"), "w", newline="\n") as f:
        f.writelines(lines)


def folder_files(folder):
    out = []
    for root, _, names in os.walk(folder):
        for n in names:
            out.append(os.path.relpath(os.path.join(root, n), folder).replace(os.sep, "/"))
    return sorted(out)


__all__ = ["write_safetensors", "reset_dir", "write_common", "write_sha256sums", "folder_files", "dumps_json"]
