"""Issue 18's red-team catalogue: each hostile input or action, and what the command line must do.

Every case names its number in the issue. "One line" means: exit code 2 and a single
``aekit: error: ...`` line on stderr that names the problem; nothing the user had is lost.
"""

import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import aekit
from cli_helpers import run_here

FIT = ("--epochs", "2", "--quiet")


run = run_here  # the command line in this process (cli_helpers)


def one_line(out, pattern):
    import re

    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [line for line in out.stderr.strip().splitlines() if not line.startswith(
        "aekit: note:")]
    assert len(lines) == 1 and lines[0].startswith("aekit: error: "), out.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in out.stderr


@pytest.fixture
def here(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.rand(60, 4), columns=["f0", "f1", "f2", "f3"])
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


def _fit(here, data="data.csv", *extra):
    out = run("fit", data, "-o", "m.aekit", *FIT, *extra, cwd=here)
    assert out.returncode == 0, out.stderr
    return here / "m.aekit"


# ---------------------------------------------------------------- silently wrong or lost data
def test_01_a_numeric_column_with_a_stray_value_is_refused_not_dropped(here):
    (here / "t.csv").write_text("a,b\n1.5,2\n2.5,oops\n3.5,4\n4.5,7\n5.5,8\n")
    one_line(run("fit", "t.csv", "-o", "m.aekit", cwd=here),
             r"column 'b' holds numbers, but row 2 is 'oops'")
    (here / "nul.csv").write_bytes(b"a,b\n1,2\n3,\x004\n5,6\n")
    one_line(run("fit", "nul.csv", "-o", "m.aekit", cwd=here), "NUL byte on line 3")
    rows = ["a,b", *[f"{i}.5,{i}" for i in range(6)]]
    rows[2] = "1.5," + "9" * 5_000_000
    (here / "huge.csv").write_text("\n".join(rows) + "\n")
    one_line(run("fit", "huge.csv", "-o", "m.aekit", cwd=here), "line 3 has a field longer")
    (here / "k.csv").write_text('a,b\n1,"1,000"\n2,"2,500"\n3,"3,000"\n4,"12,000"\n5,7\n')
    out = run("fit", "k.csv", "-o", "k.aekit", *FIT, cwd=here)
    assert out.returncode == 0 and "thousands separators" in out.stderr  # said, not dropped
    assert aekit.load(here / "k.aekit").metadata_["schema"]["features"] == ["a", "b"]


def test_01_ids_are_named_on_stderr(here):
    frame = pd.read_csv(here / "data.csv")
    frame.insert(0, "customer", [f"c{i}" for i in range(len(frame))])
    frame.to_csv(here / "ids.csv", index=False)
    out = run("fit", "ids.csv", "-o", "m.aekit", *FIT, cwd=here)
    assert out.returncode == 0 and "took column 'customer' as an ID column" in out.stderr


def test_02_rows_longer_than_the_header_and_semicolon_files(here):
    (here / "long.csv").write_text("a,b\n1,2\n3,4,5\n6,7\n")
    one_line(run("fit", "long.csv", "-o", "m.aekit", cwd=here),
             "line 3 has 3 fields, more than the header's 2")
    (here / "semi.csv").write_text("a;b;c\n" + "".join(f"{i},5;{i},25;{i}\n" for i in range(9)))
    model = aekit.load(_fit(here, "semi.csv"))
    assert model.metadata_["schema"]["features"] == ["a", "b", "c"]
    assert model.estimators_[0].n_features_in_ == 3


def test_03_columns_are_matched_by_name_when_scoring(here):
    model = _fit(here)
    frame = pd.read_csv(here / "data.csv")
    frame[frame.columns[::-1]].to_csv(here / "reversed.csv", index=False)
    assert run("encode", model, "data.csv", "-o", "a.csv", cwd=here).returncode == 0
    out = run("encode", model, "reversed.csv", "-o", "b.csv", cwd=here)
    assert out.returncode == 0 and "reordered the columns" in out.stderr
    pd.testing.assert_frame_equal(pd.read_csv(here / "a.csv"), pd.read_csv(here / "b.csv"))
    frame.rename(columns={"f2": "g2"}).to_csv(here / "renamed.csv", index=False)
    one_line(run("encode", model, "renamed.csv", "-o", "c.csv", cwd=here),
             r"lacks the column\(s\) \['f2'\].*\['g2'\] instead \(renamed\?\)")


def test_04_to_06_an_output_never_replaces_an_input(here):
    model = _fit(here)
    before = (here / "data.csv").read_bytes()
    one_line(run("encode", model, "data.csv", "-o", "data.csv", cwd=here), "also an input")
    one_line(run("fit", "data.csv", "-o", "data.csv", cwd=here), "also an input")
    one_line(run("score", model, "data.csv", "-o", "m.aekit", cwd=here),
             "Unknown output format|also an input")
    assert (here / "data.csv").read_bytes() == before
    np.save(here / "x.npy", np.random.rand(30, 4))
    one_line(run("encode", model, "x.npy", "--stream", "-o", "x.npy", cwd=here), "also an input")
    (here / "imgs").mkdir()
    for i in range(4):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(here / "imgs" / f"i{i}.png")
    images = _fit_images(here)
    for target in ("imgs", "imgs/clean"):
        one_line(run("denoise", images, "imgs", "-o", target, cwd=here), "input")
    assert sorted(p.name for p in (here / "imgs").iterdir()) == [f"i{i}.png" for i in range(4)]


def _fit_images(here, folder="imgs"):
    out = run("fit", folder, "-o", "img.aekit", *FIT, "--components", "2", cwd=here)
    assert out.returncode == 0, out.stderr
    return here / "img.aekit"


def test_07_output_names_never_collide(here):
    (here / "imgs").mkdir()
    for stem in ("a00", "a01", "a02"):
        for suffix in ("png", "jpg"):
            Image.fromarray(np.full((8, 8), 50, np.uint8)).save(here / "imgs" / f"{stem}.{suffix}")
    images = _fit_images(here)
    out = run("denoise", images, "imgs", "-o", "clean", cwd=here)
    assert out.returncode == 0 and "Denoised 6 images" in out.stdout
    assert len(list((here / "clean").iterdir())) == 6


def test_08_09_sixteen_bit_and_palette_images_keep_their_values_and_colours(here):
    from aekit.io.images import read_image

    (here / "deep").mkdir()
    Image.fromarray(np.full((4, 4), 32768, np.uint16)).save(here / "deep" / "g16.png")
    pixels, _ = read_image(here / "deep" / "g16.png")
    assert pixels.shape == (1, 4, 4) and np.allclose(pixels, 32768 / 65535)  # not 1.0
    palette = Image.new("P", (4, 4))
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.putpixel((0, 0), 1)
    palette.save(here / "p.png")
    pixels, _ = read_image(here / "p.png")
    assert pixels.shape == (3, 4, 4)  # colour, not grey
    assert np.allclose(pixels[:, 1, 1], [1, 0, 0]) and np.allclose(pixels[:, 0, 0], [0, 0, 1])


# ---------------------------------------------------------------- bounded memory, no hang
def _rewrite_config(path: Path, out: Path, change) -> None:
    """A copy of a model file whose JSON description ``change`` edits, checksum recomputed."""
    import json

    from safetensors.torch import load, save

    from aekit.saving.model_file import _data_section, _digest

    blob = path.read_bytes()
    n = int.from_bytes(blob[:8], "little")
    meta = json.loads(blob[8:8 + n])["__metadata__"]
    config = json.loads(meta["config"])
    change(config)
    meta["config"] = json.dumps(config)
    tensors = load(blob)
    meta.pop("sha256")
    fresh = save(tensors, metadata=meta)
    meta["sha256"] = _digest(meta, _data_section(fresh))
    out.write_bytes(save(tensors, metadata=meta))


def _peak_rss_of_load(path: Path) -> tuple[int, str]:
    # the child's own high-water mark (ru_maxrss would count the parent's size at the fork)
    code = ("import sys, aekit\n"
            "try:\n    aekit.load(sys.argv[1]); result = 'loaded'\n"
            "except aekit.ModelFileError as exc:\n    result = 'ModelFileError: ' + str(exc)\n"
            "peak = next(line.split()[1] for line in open('/proc/self/status')\n"
            "            if line.startswith('VmHWM'))\n"
            "print(peak, result)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=120)
    size, result = out.stdout.split(" ", 1)
    return int(size), result


def test_10_11_size_claims_are_checked_before_memory_is_used(here):
    model = _fit(here)
    _rewrite_config(model, here / "big.aekit",
                    lambda c: c["fitted"]["members"][0]["fitted"].update(n_features_in_=100000))
    genuine, _ = _peak_rss_of_load(model)
    claimed, result = _peak_rss_of_load(here / "big.aekit")
    assert result.startswith("ModelFileError") and claimed < genuine + 100_000, (claimed, genuine)
    with open(here / "huge.aekit", "wb") as f:  # 1 GB of nothing behind a bogus header
        f.write((10**9).to_bytes(8, "little"))
        f.truncate(10**9)
    claimed, result = _peak_rss_of_load(here / "huge.aekit")
    assert result.startswith("ModelFileError") and claimed < genuine + 100_000
    with pytest.raises(aekit.ModelFileError, match="not a regular file"):
        aekit.load("/dev/zero")


def test_12_a_fifo_in_an_image_folder_does_not_block(here):
    (here / "imgs").mkdir()
    for i in range(4):
        Image.fromarray(np.full((8, 8), 30 * i, np.uint8)).save(here / "imgs" / f"i{i}.png")
    os.mkfifo(here / "imgs" / "z.png")
    out = subprocess.run([sys.executable, "-m", "aekit.cli", "fit", "imgs", "-o", "m.aekit",
                          *FIT], cwd=here, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "on 4 images" in out.stdout


# ---------------------------------------------------------------- one line, never a traceback
def test_13_to_15_corrupted_descriptions_are_model_file_errors(here):
    model = _fit(here)
    blob = model.read_bytes()
    nested = b"[" * 100_000
    (here / "deep.aekit").write_bytes(len(nested).to_bytes(8, "little") + nested)
    with pytest.raises(aekit.ModelFileError):
        aekit.load(here / "deep.aekit")
    cases = {
        "params": lambda c: c.update(params=[]),
        "fitted": lambda c: c["fitted"].update(__dict__={}),
        "attribute": lambda c: c["fitted"]["members"][0]["fitted"].update(checkpoint_dir="x"),
    }
    for name, change in cases.items():
        _rewrite_config(model, here / f"{name}.aekit", change)
        with pytest.raises(aekit.ModelFileError):
            aekit.load(here / f"{name}.aekit")
        one_line(run("encode", f"{name}.aekit", "data.csv", "-o", "c.csv", cwd=here),
                 f"{name}.aekit")
    _rewrite_config(model, here / "audio.aekit", lambda c: c["metadata"].update(
        data_kind="audio"))
    one_line(run("encode", "audio.aekit", "data.csv", "-o", "c.csv", cwd=here), "'audio'")
    assert blob == model.read_bytes()


def test_14_format_version_of_the_wrong_type(here):
    import json

    from safetensors.torch import load, save

    blob = _fit(here).read_bytes()
    n = int.from_bytes(blob[:8], "little")
    meta = json.loads(blob[8:8 + n])["__metadata__"]
    for bad in ("null", "[1]", ""):
        (here / "v.aekit").write_bytes(save(load(blob), metadata={**meta, "format_version": bad}))
        one_line(run("encode", "v.aekit", "data.csv", "-o", "c.csv", cwd=here),
                 "v.aekit has a corrupted format version")


def test_16_a_model_too_large_for_memory_is_one_line(here):
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    out = subprocess.run([sys.executable, "-m", "aekit.cli", "fit", "data.csv", "-o", "m.aekit",
                          "--components", "1000000", "--hidden", "200000", *FIT], cwd=here,
                         capture_output=True, text=True, timeout=300, preexec_fn=cap)
    one_line(out, "not enough memory")
    assert not (here / "m.aekit").exists()


def test_17_29_30_npy_headers_are_checked_first(here):
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 3)))
    header["shape"] = (2, 10**11)
    with open(here / "claim.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 48)
    one_line(run("fit", "claim.npy", "-o", "m.aekit", cwd=here), "truncated")
    np.save(here / "cut.npy", np.random.rand(50, 4))
    (here / "cut.npy").write_bytes((here / "cut.npy").read_bytes()[:-100])
    one_line(run("fit", "cut.npy", "-o", "m.aekit", cwd=here), "truncated")
    np.save(here / "empty.npy", np.zeros((10, 0)))
    one_line(run("fit", "empty.npy", "--stream", "-o", "m.aekit", cwd=here), "no features")
    one_line(run("fit", "empty.npy", "-o", "m.aekit", cwd=here), r"shape \(10, 0\)")


def test_18_a_detector_file_works_with_every_command(here):
    model = _fit(here)
    assert isinstance(aekit.load(model), aekit.OutlierDetector)
    for command, target in (("encode", "c.csv"), ("score", "s.csv"), ("denoise", "d.csv"),
                            ("report", "r.html")):
        out = run(command, model, "data.csv", "-o", target, cwd=here)
        assert out.returncode == 0, out.stderr


def _interrupt_at(monkeypatch, step: int) -> None:
    import aekit.training.objective as objective

    real, calls = objective.ReconstructionObjective.forward_and_loss, [0]

    def forward_and_loss(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == step:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(objective.ReconstructionObjective, "forward_and_loss", forward_and_loss)


def test_19_41_ctrl_c_exits_130_and_says_what_was_kept(here, monkeypatch):
    _interrupt_at(monkeypatch, 1)  # in the first epoch: no model
    out = run("fit", "data.csv", "-o", "m.aekit", "--epochs", "5", "--quiet", cwd=here)
    assert out.returncode == 130 and "no model written" in out.stderr
    assert not (here / "m.aekit").exists()
    _interrupt_at(monkeypatch, 3)  # 60 rows, batches of 16: in epoch 1 of 4 steps ... epoch 1
    out = run("fit", "data.csv", "-o", "m.aekit", "--epochs", "5", "--batch-size", "30",
              "--quiet", cwd=here)
    assert out.returncode == 130 and "interrupted after 1 epoch(s)" in out.stderr
    assert "Trained" not in out.stdout
    assert aekit.load(here / "m.aekit").estimators_[0].n_iter_ == 1


def test_20_a_full_disk_while_streaming_is_one_line_and_leaves_nothing(here, monkeypatch):
    import errno

    import aekit.cli.writers as writers

    model = _fit(here)
    np.save(here / "x.npy", np.random.rand(40, 4))
    (here / "out.npy").write_bytes(b"previous output")
    real_open = open

    class FullDisk:
        def __init__(self, *args, **kwargs):
            self._f = real_open(*args, **kwargs)

        def write(self, data):
            if self._f.tell() + len(data) > 200:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self._f.write(data)

        def __getattr__(self, name):
            return getattr(self._f, name)

    monkeypatch.setattr(writers, "open", FullDisk, raising=False)
    one_line(run("encode", model, "x.npy", "--stream", "-o", "out.npy", cwd=here),
             "No space left on device")
    assert (here / "out.npy").read_bytes() == b"previous output"
    assert not [p for p in here.iterdir() if p.name.endswith(".tmp")]


def _forged_png(path: Path, width: int, height: int) -> None:
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17]))
    data[ihdr + 17:ihdr + 21] = crc.to_bytes(4, "big")
    path.write_bytes(bytes(data))


def test_21_22_a_bomb_image_and_odd_names(here):
    (here / "bomb").mkdir()
    _forged_png(here / "bomb" / "b.png", 20000, 20000)
    one_line(run("fit", "bomb", "-o", "m.aekit", cwd=here), "b.png .*too large")
    (here / "odd").mkdir()
    for name in ("..png", "a.png", ".png.png"):
        Image.fromarray(np.full((8, 8), 99, np.uint8)).save(here / "odd" / name, format="PNG")
    images = _fit_images(here, "odd")
    out = run("denoise", images, "odd", "-o", "clean", cwd=here)
    assert out.returncode == 0, out.stderr
    assert len(list((here / "clean").iterdir())) == 3


def test_23_a_damaged_checkpoint_of_this_run_is_one_line(here):
    import json

    from safetensors.torch import load, save

    out = run("fit", "data.csv", "-o", "m.aekit", "--epochs", "2", "--quiet",
              "--checkpoint", "ck", cwd=here)
    assert out.returncode == 0, out.stderr
    path = here / "ck" / "checkpoint.safetensors"
    blob = path.read_bytes()
    n = int.from_bytes(blob[:8], "little")
    meta = json.loads(blob[8:8 + n])["__metadata__"]
    state = json.loads(meta["state"])
    state.pop("epoch")
    path.write_bytes(save(load(blob), metadata={**meta, "state": json.dumps(state)}))
    one_line(run("fit", "data.csv", "-o", "m.aekit", "--epochs", "3", "--quiet",
                 "--checkpoint", "ck", cwd=here), "checkpoint cannot be resumed")


def test_24_25_python_api_constraints_and_date_columns():
    from aekit.constraints import Constraint

    class DoesNothing(Constraint):  # no __init__ of its own
        name = "does_nothing_test"

    X = np.random.RandomState(0).rand(40, 3)
    aekit.Autoencoder(2, max_iter=2, constraints=(DoesNothing(),)).fit(X)
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=40, freq="D"),
                          "wait": pd.to_timedelta(np.arange(40), unit="h"), "x": X[:, 0]})
    model = aekit.Autoencoder(2, max_iter=2).fit(frame)
    back = model.reconstruct(frame)
    assert back["when"].dtype == frame["when"].dtype and back["wait"].dtype.kind == "m"
    with pytest.raises(ValueError, match=r"TopK\(k=50\) keeps more units than the code has"):
        aekit.Autoencoder(n_components=2, constraints=(aekit.TopK(50),), max_iter=1).fit(X)


RANKS_SCRIPT = """
import sys
import numpy as np
import torch.distributed as dist
from aekit import Autoencoder
rank = int(__import__("os").environ["RANK"])
X = np.random.RandomState(0).rand(100 + 20 * rank, 4)  # the processes disagree on the rows
try:
    Autoencoder(2, max_iter=2, random_state=0).fit(X)
except ValueError as exc:
    print(f"rank {rank}: {exc}", flush=True)
    sys.exit(3)
"""


def test_26_processes_holding_different_rows_are_refused_not_aborted(tmp_path):
    (tmp_path / "ranks.py").write_text(RANKS_SCRIPT)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node=2", str(tmp_path / "ranks.py")],
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.count("were given different data (rows, features") == 2, out.stdout
    assert "exitcode: -6" not in out.stderr and "terminate called" not in out.stderr


def test_27_28_delimiters_and_trailing_commas(here):
    (here / "tab.csv").write_text("a\tb\tc\n" + "".join(f"{i}\t{i * 2}\t{i % 3}\n"
                                                        for i in range(10)))
    model = aekit.load(_fit(here, "tab.csv"))
    assert model.metadata_["schema"]["features"] == ["a", "b", "c"]
    (here / "trail.csv").write_text("a,b\n1,2,\n3,4,\n5,6,\n")
    one_line(run("fit", "trail.csv", "-o", "m.aekit", cwd=here), "extra empty field")


def test_31_to_33_37_options_are_checked_before_any_work(here):
    one_line(run("fit", "data.csv", "-o", "m.aekit", "--contamination", "0.9", "--checkpoint",
                 "ck", cwd=here), r"--contamination must be in \(0, 0.5\)")
    assert not (here / "ck").exists() and not (here / "m.aekit").exists()
    one_line(run("demo", "--report", "missing/r.html", cwd=here), "missing does not exist")
    one_line(run("fit", "data.csv", "-o", "m.aekit", "--sparsity", "topk", "--sparsity-target",
                 "1e9", "--components", "2", cwd=here), "keeps 1000000000 code units")
    model = _fit(here)
    one_line(run("score", model, "data.csv", "-o", "s.csv", "--top", "-1", cwd=here),
             "--top must be at least 1")
    one_line(run("fit", "data.csv", "-o", "m.aekit", "--epochs", "0", cwd=here),
             "--epochs must be a whole number >= 1")


def test_34_35_hints_name_the_right_file_and_refuse_ignored_options(here):
    model = _fit(here)
    (here / "out.csv").mkdir()
    one_line(run("encode", model, "data.csv", "-o", "out.csv", cwd=here),
             "is a folder; give a file name such as codes.csv")
    np.save(here / "x.npy", np.random.rand(20, 4))
    one_line(run("fit", "x.npy", "-o", "n.aekit", "--id-column", "a", cwd=here),
             "array without column names; drop --id-column")


def test_36_a_folder_of_parquet_files_is_a_table(here):
    (here / "parts").mkdir()
    frame = pd.read_csv(here / "data.csv")
    frame.iloc[:30].to_parquet(here / "parts" / "a.parquet")
    frame.iloc[30:].to_parquet(here / "parts" / "b.parquet")
    out = run("fit", "parts", "-o", "p.aekit", *FIT, cwd=here)
    assert out.returncode == 0 and "on 60 rows" in out.stdout, out.stderr


def test_38_the_report_of_a_one_unit_code(here):
    model = _fit(here, "data.csv", "--components", "1")
    out = run("report", model, "data.csv", "-o", "r.html", cwd=here)
    assert out.returncode == 0, out.stderr


def test_39_nproc_on_a_bad_csv_is_one_line(here):
    (here / "bad.csv").write_text("a,b\n1,2\n3,4,5\n")
    out = subprocess.run([sys.executable, "-m", "aekit.cli", "fit", "bad.csv", "-o", "m.aekit",
                          "--nproc", "2"], cwd=here, capture_output=True, text=True, timeout=120)
    one_line(out, "line 3 has 3 fields")


def test_40_grayscale_and_colour_images_of_one_size_are_named_as_such(here):
    (here / "mixed").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(here / "mixed" / "a.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(here / "mixed" / "b.png")
    one_line(run("fit", "mixed", "-o", "m.aekit", cwd=here), "mix grayscale and colour")


def test_42_an_id_column_named_like_an_output_column(here):
    frame = pd.read_csv(here / "data.csv")
    frame.insert(0, "code0", [f"r{i}" for i in range(len(frame))])
    frame.to_csv(here / "ids.csv", index=False)
    model = _fit(here, "ids.csv")
    one_line(run("encode", model, "ids.csv", "-o", "c.csv", cwd=here),
             "ID column 'code0' has the name of an output column")


def test_stale_temporary_files_of_killed_writers_are_cleaned(here):
    from aekit.atomic import atomic_write_bytes

    dead = subprocess.run([sys.executable, "-c", "pass"]).returncode  # a pid that is gone
    stale = here / f".m.aekit.{999_999}.abcdefgh.tmp"
    stale.write_bytes(b"x" * 1000)
    mine = here / f".m.aekit.{os.getpid()}.zzzzzzzz.tmp"
    mine.write_bytes(b"in progress")
    atomic_write_bytes(here / "m.aekit", b"new")
    assert dead == 0 and not stale.exists() and mine.exists()
