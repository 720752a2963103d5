"""Where a command may write, decided before it reads a byte of data.

An output may not be any of the command's inputs (the data, the model, the clean reference),
nor the folder holding input images, nor a folder inside it; a file output may not be an
existing folder, its folder must exist, and its extension must be one the command writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataFileError


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(inner: Path, outer: Path) -> bool:
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


def check_output(output, inputs=(), *, suffixes=None, folder: bool = False,
                 example: str = "out.csv") -> Path:
    """``output`` as a Path, or a one-line error (module docstring). ``suffixes``: the file
    extensions the command writes (None: any); ``folder``: the output is a folder of files."""
    out = Path(output)
    for given in inputs:
        if given is None:
            continue
        source = Path(given)
        if _same(out, source) or out.resolve() == source.resolve():
            raise DataFileError(f"-o {out} is also an input of this command; writing it would "
                                "replace the input. Give another output path.")
        if folder and source.is_dir() and (_inside(out, source) or _inside(source, out)):
            raise DataFileError(f"-o {out} is the input folder {source} or inside it; the "
                                "outputs would mix with (or replace) the inputs. Give another "
                                "folder.")
    if folder:
        if out.exists() and not out.is_dir():
            raise DataFileError(f"-o {out} is a file; give a folder for the images.")
        parent = out.parent if str(out.parent) else Path(".")
    else:
        if out.is_dir():
            raise DataFileError(f"-o {out} is a folder; give a file name such as {example}.")
        parent = out.parent if str(out.parent) else Path(".")
        if suffixes is not None and out.suffix.lower() not in suffixes:
            raise DataFileError(f"Unknown output format {out.suffix or '(none)'!r} for {out}; "
                                f"use {', '.join(sorted(suffixes))}.")
    if not parent.is_dir():
        raise DataFileError(f"Folder {parent} does not exist; create it first.")
    return out
