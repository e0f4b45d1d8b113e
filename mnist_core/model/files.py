"""Models on disk: `.keras` files with a JSON sidecar, saved atomically, versioned outside the repo."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import threading
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_core.atomic_files import atomic_write_bytes, fsync_dir
from mnist_core.errors import first_line
from mnist_core.model.assemble import LayerSpec, classifier_from_layers
from mnist_core.model.forward import Classifier

if TYPE_CHECKING:
    import keras

# What a model's inputs must look like, stored inside the `.keras` zip so a file copied without its
# sidecar is still fed right. Bump PREPROCESSING_VERSION when preprocess.py changes what it hands the
# model in a way a model trained before the change would not expect.
CONTRACT_ENTRY = "mnist_contract.json"
PREPROCESSING_VERSION = 1
INPUT_SHAPE = (28, 28)


class ModelError(RuntimeError):
    """A model file that cannot be used; the message names the file and the fix."""


def sidecar_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def cache_path(model_path: Path) -> Path:
    """The model's test report (confusion matrices, worst mistakes), kept beside it so the UI needs no data."""
    return Path(model_path).with_suffix(".eval.json")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _weights_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """Ties a sidecar or evaluation cache to the exact model file it describes."""
    return _weights_digest(Path(path).read_bytes())


def input_contract(deskew: bool) -> dict[str, Any]:
    """What the model must be fed: serving reads this, so it cannot drift from how the model was trained."""
    return {
        "deskew": deskew,
        "input_shape": list(INPUT_SHAPE),
        "input_size": INPUT_SHAPE[0] * INPUT_SHAPE[1],
        "preprocessing_version": PREPROCESSING_VERSION,
    }


def save_model(model: keras.Model, path: Path, metadata: dict[str, Any]) -> Path:
    """Save weights and architecture without optimizer state (23 MB instead of ~70 MB), with the input
    contract inside the zip. The sidecar is written first and the `.keras` published last by an atomic
    rename, so a kill at any moment never leaves a listed model without its sidecar.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"{path}: model files must end in .keras")
    deskew = metadata.get("hyperparameters", {}).get("deskew")
    if not isinstance(deskew, bool):
        raise ModelError(f"{path}: metadata lacks hyperparameters.deskew; pass the run's hyper-parameters")
    path.parent.mkdir(parents=True, exist_ok=True)
    bare = type(model).from_config(model.get_config())  # uncompiled: clone_model would keep Adam's state
    bare.set_weights(model.get_weights())
    staging = path.with_name(f".{path.stem}.staging-{os.getpid()}-{threading.get_ident()}.keras")
    try:
        bare.save(staging)
        with zipfile.ZipFile(staging, "a") as zf:
            zf.writestr(CONTRACT_ENTRY, json.dumps(input_contract(deskew), sort_keys=True))
        _fsync_file(staging)
        meta = dict(metadata)
        meta["file_sha256"] = file_digest(staging)
        meta.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        atomic_write_bytes(sidecar_path(path), (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return path


def read_metadata(path: Path) -> dict[str, Any]:
    """The sidecar, or {} when it is missing or unreadable (the model itself stays usable)."""
    try:
        meta = json.loads(sidecar_path(Path(path)).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _contract_in(zf: zipfile.ZipFile) -> dict[str, Any] | None:
    try:
        contract = json.loads(zf.read(CONTRACT_ENTRY))
    except KeyError:
        return None  # saved before contracts existed
    if not isinstance(contract, dict):
        raise ValueError(f"{CONTRACT_ENTRY} is not a JSON object")
    return contract


def read_contract(path: Path) -> dict[str, Any] | None:
    """The input contract inside a `.keras` file; None for files saved before it existed or unreadable ones."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _contract_in(zf)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _deskew_for(path: Path, contract: dict[str, Any] | None) -> bool:
    """The embedded contract, else (older files) the sidecar's hyper-parameters; guessing would serve wrong inputs."""
    if contract is None:
        deskew = read_metadata(path).get("hyperparameters", {}).get("deskew")
        if isinstance(deskew, bool):
            return deskew
        raise ModelError(
            f"{path} does not say how to prepare its inputs (no {CONTRACT_ENTRY} inside, no "
            f"sidecar {sidecar_path(path).name} with hyperparameters.deskew); put its sidecar beside it "
            "or retrain"
        )
    version = contract.get("preprocessing_version")
    if not isinstance(version, int) or version > PREPROCESSING_VERSION:
        raise ModelError(
            f"{path} needs preprocessing version {version}, this mnist_core has "
            f"{PREPROCESSING_VERSION}; update mnist_core or retrain"
        )
    if contract.get("input_size") != INPUT_SHAPE[0] * INPUT_SHAPE[1] or not isinstance(contract.get("deskew"), bool):
        raise ModelError(f"{path} has an input contract this demo cannot serve ({contract}); retrain")
    return contract["deskew"]


def _snake(kind: str) -> str:
    """Keras' own name for a layer's weights group in `model.weights.h5` (keras.src.utils.naming.to_snake_case):
    "Conv2D" → "conv2d", "Dense" → "dense"; the n-th of a kind gets "_n"."""
    kind = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", kind)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", kind).lower()


def _layer_specs(zf: zipfile.ZipFile) -> list[LayerSpec]:
    """Each layer of the saved Sequential, in order, as (class name, config, weights) read with h5py."""
    import h5py

    config = json.loads(zf.read("config.json"))
    if config.get("class_name") != "Sequential":
        raise ValueError(f"a {config.get('class_name')} model, not the Sequential this project saves")
    layers = [layer for layer in config["config"]["layers"] if layer["class_name"] != "InputLayer"]
    seen: dict[str, int] = {}
    specs: list[LayerSpec] = []
    with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
        for layer in layers:
            snake = _snake(layer["class_name"])
            seen[snake] = seen.get(snake, -1) + 1
            group = snake if seen[snake] == 0 else f"{snake}_{seen[snake]}"
            found = h5["layers"][group]["vars"] if group in h5["layers"] else {}
            specs.append((layer["class_name"], layer["config"], [np.asarray(found[str(i)]) for i in range(len(found))]))
    return specs


def load_classifier(path: Path) -> Classifier:
    """Read the network straight from the `.keras` zip (its config.json and weights) with h5py: no TensorFlow."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}; train one or pass --model with an existing .keras file")
    try:
        with zipfile.ZipFile(path) as zf:
            contract = _contract_in(zf)
            specs = _layer_specs(zf)
        return classifier_from_layers(specs, deskew=_deskew_for(path, contract))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, TypeError) as exc:
        reason = first_line(exc, 120)
        raise ModelError(f"{path} is not a usable .keras model ({reason}); retrain or use the shipped model") from None


def load_keras(path: Path) -> keras.Model:
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any load failure is reported with the file's name
        raise ModelError(
            f"{path} is not a usable .keras model ({type(exc).__name__}); retrain or use the shipped model"
        ) from None
