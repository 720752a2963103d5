"""The command line on photos of any size: ``aekit fit FOLDER --patch P`` trains a spatial-code
``ConvAutoencoder`` on random patches of the folder's images (any sizes, one mode), and
``aekit denoise MODEL FOLDER -o OUT`` runs it on each whole image, written at its own size (PNG,
grey stays grey, colour stays colour; 16-bit images are written 8-bit)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..errors import DataFileError


def is_photo_model(model) -> bool:
    return getattr(model, "code", None) == "spatial" and (
        (getattr(model, "metadata_", None) or {}).get("data_kind") == "photos")


def read_photos(folder) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Every image of ``folder`` as (C, H, W) in [0, 1], their names, and notes."""
    from ..io.images import image_files, read_image

    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(f"--patch trains on a folder of images; {folder} is not a folder.")
    files = image_files(folder)
    if not files:
        raise DataFileError(f"{folder} holds no images (PNG/JPEG); give a folder of images.")
    images, dropped = [], []
    for file in files:
        image, info = read_image(file)
        if images and image.shape[0] != images[0].shape[0]:
            raise DataFileError(f"Images in {folder} mix grayscale and colour ({files[0].name} "
                                f"has {images[0].shape[0]} channel(s), {file.name} "
                                f"{image.shape[0]}); convert them to one mode.")
        if info.dropped_alpha:
            dropped.append(file.name)
        images.append(image)
    notes = ([f"dropped the alpha channel of {len(dropped)} image(s) (e.g. {dropped[0]})"]
             if dropped else [])
    return images, [f.name for f in files], notes


def training_budget(patches: int, batch: int, epochs: int | None,
                    early_stopping: bool | None) -> tuple[int, bool]:
    """``(max_iter, early_stopping)`` of a photo model: without ``--epochs``, about
    ``STEP_BUDGET`` gradient steps whatever the number of patches (5 to 2,000 epochs), stopped
    early on held-out patches unless ``--no-early-stopping``."""
    from .options import STEP_BUDGET

    if epochs is not None:
        return int(epochs), bool(early_stopping)
    steps_per_epoch = math.ceil(patches / batch)
    budget = int(min(2000, max(5, math.ceil(STEP_BUDGET / steps_per_epoch))))
    return budget, True if early_stopping is None else bool(early_stopping)


def fit_photos(args, o: dict, progress: bool) -> str:
    from ..constraints import get_constraint
    from ..estimators import ConvAutoencoder
    from ..io import random_patches
    from .commands import note
    from .options import NOISES

    images, names, notes = read_photos(args.data)
    for line in notes:
        note(line)
    size, count = int(o["patch"]), int(o["patches"] or 4000)
    patches = random_patches(images, size, count, random_state=o["seed"])
    constraints = []
    if o["noise"]:
        noise = get_constraint(NOISES[o["noise"]])
        if o["noise_level"] is not None:
            noise.set_params(**{"std" if o["noise"] == "gaussian" else "rate": o["noise_level"]})
        constraints.append(noise)
    batch = o["batch_size"] or 64
    epochs, early = training_budget(count, batch, o["epochs"], o["early_stopping"])
    model = ConvAutoencoder(
        o["components"], code="spatial", conv_channels=(64,), constraints=tuple(constraints),
        loss=o["loss"] or "mse", max_iter=epochs, batch_size=batch,
        early_stopping=early, n_iter_no_change=20,
        validation_fraction=o["validation_fraction"] or 0.1, random_state=o["seed"],
        learning_rate_init=o["learning_rate"] or 2e-3, verbose=1 if progress else 0,
        n_threads=o["threads"], device=o["device"])
    start = time.perf_counter()
    model.fit(patches)
    seconds = time.perf_counter() - start
    model.save(args.output, metadata={
        "cli_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()},
        "data_kind": "photos", "kind": "conv", "training_rows": count, "source": str(args.data),
        "patch": size})
    return (f"Trained a spatial-code conv autoencoder on {count} random {size}x{size} patches "
            f"of {len(images)} image(s) in {args.data} in {seconds:.1f} s ({model.n_iter_} "
            f"epochs, final loss {model.loss_curve_[-1]:.4g}); code map {model.code_shape_}.\n"
            f"Model written to {args.output} (aekit denoise runs it on whole images).")


def denoise_photos(args, model) -> str:
    from .paths import check_output
    from .writers import output_names, write_images

    check_output(args.output, [args.data, args.model], folder=True)
    images, names, _ = read_photos(args.data)
    channels = int(model.image_shape_[0])
    for image, name in zip(images, names):
        if image.shape[0] != channels:
            raise DataFileError(f"{name} has {image.shape[0]} channel(s); the model was trained "
                                f"on {channels}. Convert the images to the training mode.")
    out_names = output_names(names)
    for image, name in zip(images, out_names):  # one at a time: photos may be large
        clean = np.clip(model.reconstruct_image(image), 0, 1)
        write_images(args.output, clean[None], [name])
    return f"Denoised {len(images)} images, each at its own size, into {args.output}/."
