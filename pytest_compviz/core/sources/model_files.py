"""Model size on disk, in GiB (2**30 bytes), counting weight files only.

What counts as a weight file (decided here; names compared case-insensitively):

- ``*.safetensors``, ``*.gguf``, ``*.onnx``, ``*.bin`` (OpenVINO IR weights, PyTorch bins);
- ``*.xml`` only beside a ``.bin`` of the same stem: that pair is an OpenVINO IR, while a lone
  ``.xml`` is some other document;
- ONNX external data: ``*.onnx_data`` and ``*.onnx.data`` (what optimum and torch.onnx write),
  and any ``*.data`` in a folder that holds an ``.onnx`` (torch.onnx lets the name be anything).

One model's weights count once, in the format the loader would pick (Hugging Face transformers'
order): a folder holding ``*.safetensors`` and ``pytorch_model*.bin`` (many Hub downloads hold
both, the same weights twice) counts the safetensors only; a sharded checkpoint's index file
(``model.safetensors.index.json``, ``pytorch_model.bin.index.json``) names the shards that count,
and a shard it lists that is not there is an error (a partial download). Decided per folder by
``_one_format``.

Never counted: the OpenVINO tokenizer/detokenizer models (``openvino_tokenizer.xml/.bin``,
``openvino_detokenizer.xml/.bin``: not the model being compressed), ``training_args.bin`` (a
pickled Trainer config), hidden files and folders (``.cache``, ``.git``...), ``__pycache__``, and
everything else (configs, tokenizer JSONs, README...).

A file given directly is counted whatever its name (the user says it is the model), with its IR
``.bin`` for an ``.xml`` and its external data for an ``.onnx``. The size is ``st_size``, the
apparent size: a sparse file made with truncate counts fully, as it would once downloaded.
Folders are walked to any depth, following symlinks; a file reached twice (two links, hard links)
counts once, and a symlink back to a folder being walked is a loop: SourceError.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from . import SourceError, oserror_text

GIB = 2**30

_WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".onnx", ".bin", ".onnx_data", ".onnx.data")
_NOT_WEIGHTS = {"openvino_tokenizer.xml", "openvino_tokenizer.bin", "openvino_detokenizer.xml",
                "openvino_detokenizer.bin", "training_args.bin"}
_SKIPPED_FOLDERS = {"__pycache__"}


@dataclass(frozen=True)
class ModelSize:
    """Bytes counted, in GiB, and the files counted (sorted, as paths under the one given)."""

    gib: float
    bytes: int
    files: tuple[Path, ...]


def model_size(path: str | os.PathLike, shown: str | None = None) -> ModelSize:
    path = Path(path)
    shown = str(path) if shown is None else shown
    try:
        if not path.exists():
            raise SourceError(shown, "no such file or folder")
        files = _weights_of_file(path) if not path.is_dir() else _weights_in_folder(path, shown)
        if not files:
            raise SourceError(shown, "has no model weight files (.safetensors, .bin, OpenVINO .xml/.bin,"
                                     " .gguf, .onnx)")
        total = 0
        for _file, info in files:
            total += info.st_size
    except OSError as exc:
        raise SourceError(shown, f"cannot be read ({oserror_text(exc)})") from None
    return ModelSize(total / GIB, total, tuple(file for file, _ in files))


def _weights_of_file(path: Path) -> list[tuple[Path, os.stat_result]]:
    companions = []
    name = path.name.lower()
    if name.endswith(".xml"):
        companions = [path.with_suffix(".bin")]
    elif name.endswith(".onnx"):
        companions = [path.with_name(path.name + "_data"), path.with_name(path.name + ".data")]
    found = [(path, path.stat())]
    found += [(c, c.stat()) for c in companions if c.is_file()]
    return found


def _weights_in_folder(root: Path, shown: str) -> list[tuple[Path, os.stat_result]]:
    """Every weight file under ``root``; an explicit stack rather than recursion, so depth costs
    no Python frames, and each entry carries the folders above it to tell a loop from a folder
    reached twice."""
    counted: dict[tuple[int, int], tuple[Path, os.stat_result]] = {}
    walked: set[tuple[int, int]] = set()
    root_info = root.stat()
    stack = [(root, frozenset({(root_info.st_dev, root_info.st_ino)}))]
    walked.add((root_info.st_dev, root_info.st_ino))
    while stack:
        folder, above = stack.pop()
        names, sub_folders = [], []
        for entry in os.scandir(folder):
            if entry.name.startswith(".") or entry.name in _SKIPPED_FOLDERS:
                continue
            if not entry.is_symlink() and not entry.is_dir() and not _may_be_weight(entry.name.lower()):
                continue  # a plain non-weight file: no stat needed (scandir knows its type)
            info = _stat(entry, root, shown)
            if info is None:
                continue
            if stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in above:
                    raise SourceError(shown, f"symlink loop: {_relative(Path(entry.path), root)}"
                                             " leads back to a folder it is in")
                if key not in walked:
                    walked.add(key)
                    sub_folders.append((Path(entry.path), above | {key}))
            elif stat.S_ISREG(info.st_mode):
                names.append((entry.name, Path(entry.path), info))
        for _name, path, info in _one_format(_weight_files(names), names, shown, root):
            counted.setdefault((info.st_dev, info.st_ino), (path, info))
        stack.extend(sub_folders)
    return sorted(counted.values(), key=lambda found: found[0])


def _stat(entry: os.DirEntry, root: Path, shown: str) -> os.stat_result | None:
    """The entry's target's stat; None for a dangling symlink that is not a weight file (a broken
    link to a tokenizer file does not stop the count); a broken weight link is an error."""
    try:
        return entry.stat()  # follows symlinks
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # links pointing at each other: no target at all
            raise SourceError(shown, f"symlink loop: {_relative(Path(entry.path), root)}"
                                     " never reaches a file") from None
        if _is_weight_name(entry.name.lower()):
            raise SourceError(shown, f"{_relative(Path(entry.path), root)}: cannot be read"
                                     f" ({oserror_text(exc)})") from None
        return None


def _weight_files(names: list[tuple[str, Path, os.stat_result]]) -> list[tuple[str, Path, os.stat_result]]:
    lower = {name.lower() for name, _, _ in names}
    has_onnx = any(name.endswith(".onnx") for name in lower)
    chosen = []
    for name, path, info in names:
        low = name.lower()
        if low in _NOT_WEIGHTS:
            continue
        if (_is_weight_name(low)
                or (low.endswith(".xml") and low[:-4] + ".bin" in lower)
                or (has_onnx and low.endswith(".data"))):
            chosen.append((name, path, info))
    return chosen


def _may_be_weight(low: str) -> bool:
    """Weight-named, an IR .xml / ONNX .data whose partner decides (see _weight_files), or a
    sharded checkpoint's index (see _one_format)."""
    return _is_weight_name(low) or low.endswith((".xml", ".data")) or low in _INDEX_FILES


# Hugging Face checkpoints, in the order transformers' from_pretrained looks for them: the first
# format present is the one loaded. (format, index file, a file of that format)
_SAFETENSORS_INDEX, _PYTORCH_INDEX = "model.safetensors.index.json", "pytorch_model.bin.index.json"
_INDEX_FILES = {_SAFETENSORS_INDEX, _PYTORCH_INDEX}


def _is_safetensors(low: str) -> bool:
    return low.endswith(".safetensors")


def _is_pytorch_bin(low: str) -> bool:
    return low.startswith("pytorch_model") and low.endswith(".bin")


def _one_format(chosen: list[tuple[str, Path, os.stat_result]], names: list,
                shown: str, root: Path) -> list[tuple[str, Path, os.stat_result]]:
    """The weight files of one folder, with a Hugging Face checkpoint counted in one format: the
    safetensors when there are any (the pytorch_model*.bin beside them are the same weights),
    restricted to the shards the format's index lists when it has one."""
    lows = {name.lower() for name, _, _ in chosen}
    if any(_is_safetensors(low) for low in lows):
        chosen = [entry for entry in chosen if not _is_pytorch_bin(entry[0].lower())]
        index, belongs = _SAFETENSORS_INDEX, _is_safetensors
    else:
        index, belongs = _PYTORCH_INDEX, _is_pytorch_bin
    index_entry = next((entry for entry in names if entry[0].lower() == index), None)
    if index_entry is None or not any(belongs(entry[0].lower()) for entry in chosen):
        return chosen
    shards = _shards(index_entry[1], shown, root)
    present = {entry[0] for entry in chosen}
    missing = sorted(shard for shard in shards if shard not in present)
    if missing:
        raise SourceError(shown, f"{_relative(index_entry[1], root)} lists {', '.join(missing)}, which"
                                 f" {'is' if len(missing) == 1 else 'are'} not there (a partial download?)")
    return [entry for entry in chosen if not belongs(entry[0].lower()) or entry[0] in shards]


def _shards(index: Path, shown: str, root: Path) -> set[str]:
    """The file names a sharded checkpoint's index maps its tensors to (``weight_map``)."""
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
    except (ValueError, AttributeError):
        weight_map = None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise SourceError(shown, f"{_relative(index, root)}: is not a sharded checkpoint index (no"
                                 " \"weight_map\" of tensor -> file name)")
    return set(weight_map.values())


def _is_weight_name(low: str) -> bool:
    return low.endswith(_WEIGHT_SUFFIXES) and low not in _NOT_WEIGHTS


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
