"""The real console script in a subprocess, over real files in a temporary folder."""

import base64
import io
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from aekit.datasets import load_digits
from cli_helpers import run_here

AEKIT = shutil.which("aekit")


def run(*args, cwd):
    cmd = [AEKIT] if AEKIT else [sys.executable, "-m", "aekit.cli"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    X = load_digits()[:120]
    table = pd.DataFrame(X[:, :12], columns=[f"f{i}" for i in range(12)])
    table.insert(0, "customer", [f"c{i:03d}" for i in range(len(table))])
    table.to_csv(root / "data.csv", index=False)
    table.to_parquet(root / "data.parquet")
    (root / "imgs").mkdir()
    for i in range(30):
        pixels = (X[i].reshape(8, 8) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / "imgs" / f"digit{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def table_model(files):
    out = run("fit", "data.csv", "-o", "table.aekit", "--epochs", "3", "--components", "4",
              "--noise", "gaussian", "--noise-level", "0.1", "--quiet", cwd=files)
    assert out.returncode == 0, out.stderr
    assert "Model written to table.aekit" in out.stdout
    return files / "table.aekit"


def test_fit_on_csv_keeps_the_options_in_the_model(table_model):
    import aekit

    model = aekit.load(table_model)  # an OutlierDetector around the autoencoder the options ask
    assert isinstance(model, aekit.OutlierDetector) and model.threshold_ > 0
    member = model.estimators_[0]
    assert member.n_components_ == 4 and member.n_iter_ == 3
    assert type(member.constraints_[0]).__name__ == "GaussianNoise"
    assert model.metadata_["cli_options"]["noise"] == "gaussian"
    assert model.metadata_["data_kind"] == "table"
    assert model.metadata_["schema"]["ids"] == ["customer"]


@pytest.mark.parametrize("data", ["data.csv", "data.parquet"])
def test_encode_score_denoise_tables_keep_the_id_column(files, table_model, data):
    for command, out_name in (("encode", "codes.csv"), ("score", "scores.parquet"),
                              ("denoise", "clean.csv")):
        out = run(command, table_model, data, "-o", out_name, cwd=files)
        assert out.returncode == 0, out.stderr
        frame = (pd.read_parquet if out_name.endswith(".parquet") else pd.read_csv)(
            files / out_name)
        assert len(frame) == 120
        assert frame["customer"].tolist()[:2] == ["c000", "c001"]
        if command == "encode":
            assert [c for c in frame.columns if c.startswith("code")] == [
                "code0", "code1", "code2", "code3"]
        elif command == "score":
            assert frame["outlier"].dtype == bool
            assert frame["top_features"].str.match(r"f\d+ \(\d+%\); f\d+").all()
            assert (frame["anomaly_score"] > 0).all()
            assert frame["p_value"].between(0, 1).all()
        else:
            assert list(frame.columns) == ["customer"] + [f"f{i}" for i in range(12)]


def test_score_names_the_feature_that_was_broken(files, table_model):
    table = pd.read_csv(files / "data.csv")
    table.loc[5, "f7"] = 40.0
    table.to_csv(files / "broken.csv", index=False)
    out = run("score", table_model, "broken.csv", "-o", "b.csv", "--top", "1", cwd=files)
    assert out.returncode == 0, out.stderr
    scores = pd.read_csv(files / "b.csv")
    assert scores.loc[5, "top_features"].startswith("f7 ")
    assert bool(scores.loc[5, "outlier"])


def test_images_fit_encode_score_denoise(files):
    out = run("fit", "imgs", "-o", "img.aekit", "--epochs", "2", "--components", "6", "--quiet",
              cwd=files)
    assert out.returncode == 0, out.stderr
    assert "conv autoencoder on 30 images" in out.stdout
    assert run("encode", "img.aekit", "imgs", "-o", "c.npy", cwd=files).returncode == 0
    assert np.load(files / "c.npy").shape == (30, 6)
    assert run("score", "img.aekit", "imgs", "-o", "s.csv", cwd=files).returncode == 0
    assert pd.read_csv(files / "s.csv")["file"].tolist()[0] == "digit00.png"
    out = run("denoise", "img.aekit", "imgs", "-o", "den", cwd=files)
    assert out.returncode == 0, out.stderr
    written = sorted(p.name for p in (files / "den").iterdir())
    assert len(written) == 30 and written[0] == "digit00.png"
    with Image.open(files / "den" / "digit00.png") as img:
        assert img.size == (8, 8) and img.mode == "L"


def test_config_file_supplies_options_and_the_command_line_wins(files):
    (files / "fit.toml").write_text('[fit]\ncomponents = 3\nepochs = 2\nsparsity = "l1"\n')
    out = run("fit", "data.csv", "-o", "cfg.aekit", "--config", "fit.toml", "--epochs", "1",
              "--quiet", cwd=files)
    assert out.returncode == 0, out.stderr
    import aekit

    model = aekit.load(files / "cfg.aekit").estimators_[0]
    assert model.n_components_ == 3 and model.n_iter_ == 1
    assert type(model.constraints_[0]).__name__ == "L1Activity"


def test_help_does_not_import_torch():
    code = "import sys; from aekit.cli import _build_parser; _build_parser(); " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.headings, self.open_tags = [], [], []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def _check_report(path, expected_sections):
    page = _Page()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    page.feed(text)
    for section in expected_sections:
        assert any(h.startswith(section) for h in page.headings), (section, page.headings)
    for src in page.images:  # every embedded image decodes
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as img:
            img.verify()
    return page


def test_report_on_a_csv_and_on_images_is_valid_self_contained_html(files, table_model):
    out = run("report", table_model, "data.csv", "-o", "table.html", cwd=files)
    assert out.returncode == 0, out.stderr
    page = _check_report(files / "table.html", ["Configuration", "Loss curves", "Code map",
                                                 "Anomaly scores", "Top outliers",
                                                 "Comparison with PCA"])
    assert len(page.images) == 3  # loss, code map, histogram (no image grid for a table)
    assert "c0" in (files / "table.html").read_text()  # the top outliers named by their IDs
    assert run("fit", "imgs", "-o", "img2.aekit", "--epochs", "1", "--quiet",
               "--sparsity", "kl", cwd=files).returncode == 0
    out = run("report", "img2.aekit", "imgs", "-o", "img.html", cwd=files)
    assert out.returncode == 0, out.stderr
    page = _check_report(files / "img.html", ["Reconstructions", "Sparsity per unit"])
    assert len(page.images) == 5
    out = run("report", table_model, "-o", "bare.html", cwd=files)  # without data
    assert out.returncode == 0, out.stderr
    assert len(_check_report(files / "bare.html", ["Loss curves"]).images) == 1


def _bad_files(root):
    (root / "empty.csv").write_text("")
    (root / "stray.csv").write_text("a,b\n1.5,2\n2.5,oops\n3.5,4\n4.5,7\n5.5,8\n")
    (root / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n6,7\n")
    (root / "inf.csv").write_text("a,b\n1,2\n3,inf\n5,6\n")
    (root / "model.txt").write_text("not a model")
    (root / "mixed").mkdir(exist_ok=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "mixed" / "a.png")
    Image.fromarray(np.zeros((9, 8), np.uint8)).save(root / "mixed" / "b.png")
    pd.DataFrame(np.random.rand(5, 3), columns=list("abc")).to_csv(root / "narrow.csv",
                                                                     index=False)


BAD = [
    (("fit", "missing.csv", "-o", "m.aekit"), "missing.csv does not exist"),
    (("fit", "empty.csv", "-o", "m.aekit"), "empty.csv is empty"),
    (("fit", "stray.csv", "-o", "m.aekit"), r"column 'b' holds numbers, but row 2 is 'oops'"),
    (("fit", "ragged.csv", "-o", "m.aekit"), "line 3 has 3 fields, more than the header's 2"),
    (("fit", "inf.csv", "-o", "m.aekit"), r"infinit"),
    (("fit", "mixed", "-o", "m.aekit"), "Images in mixed differ in size: a.png is 8x8"),
    (("encode", "model.txt", "data.csv", "-o", "c.csv"), "not an aekit model file"),
    (("encode", "table.aekit", "narrow.csv", "-o", "c.csv"),
     r"narrow.csv lacks the column\(s\) \['f0', 'f1'"),
    (("fit", "data.csv", "-o", "m.aekit", "--noise", "pink"), "--noise must be one of"),
    (("fit", "data.csv", "-o", "m.xyz/m.aekit"), "does not exist; create it first"),
    (("encode", "table.aekit", "data.csv", "-o", "c.xlsx"), "Unknown output format '.xlsx'"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a[:2]) for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(files, table_model, args, message):
    import re

    _bad_files(files)
    out = run(*args, cwd=files)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aekit: error: "), out.stderr
    assert re.search(message, lines[0]), lines[0]


def test_fit_stream_reads_parquet_with_an_id_column_and_an_image_folder(files):
    out = run("fit", "data.parquet", "--stream", "--id-column", "customer", "-o",
              "streamed.aekit", "--epochs", "2", "--components", "3", "--quiet", cwd=files)
    assert out.returncode == 0, out.stderr
    assert "on 120 rows of data.parquet" in out.stdout
    import aekit

    model = aekit.load(files / "streamed.aekit")
    assert list(model.feature_names_in_) == [f"f{i}" for i in range(12)]
    assert model.metadata_["schema"]["features"] == [f"f{i}" for i in range(12)]
    assert model.metadata_["training_rows"] == 120
    scored = run("score", "streamed.aekit", "data.parquet", "-o", "streamed.csv", cwd=files)
    assert scored.returncode == 0, scored.stderr
    assert len(pd.read_csv(files / "streamed.csv")) == 120

    out = run("fit", "imgs", "--stream", "-o", "imgs_streamed.aekit", "--epochs", "1",
              "--quiet", cwd=files)
    assert out.returncode == 0, out.stderr
    assert aekit.load(files / "imgs_streamed.aekit").metadata_["kind"] == "conv"
    bad = run("fit", "data.csv", "--stream", "-o", "x.aekit", cwd=files)
    assert bad.returncode == 2 and "convert it once to Parquet" in bad.stderr




@pytest.fixture(scope="module")
def row_groups(files):
    """data.parquet again, in row groups of 25 rows (5 chunks when streamed), and as .npy."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pd.read_parquet(files / "data.parquet")
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), files / "groups.parquet",
                   row_group_size=25)
    np.save(files / "data.npy", table.drop(columns="customer").to_numpy())
    return files / "groups.parquet"


@pytest.mark.parametrize("out_name", ["s.csv", "s.parquet", "s.npy"])
def test_score_and_encode_stream_write_what_the_in_memory_commands_write(files, table_model,
                                                                       row_groups, out_name):
    read = {".csv": pd.read_csv, ".parquet": pd.read_parquet,
            ".npy": lambda p: pd.DataFrame(np.load(p))}[out_name[out_name.index("."):]]
    for command in ("score", "encode"):
        whole_name, streamed_name = f"{command}_whole_{out_name}", f"{command}_{out_name}"
        whole = run_here(command, table_model, "groups.parquet", "--id-column", "customer", "-o",
                    whole_name, cwd=files)
        streamed = run_here(command, table_model, "groups.parquet", "--id-column", "customer",
                       "--stream", "-o", streamed_name, cwd=files)
        assert whole.returncode == 0 and streamed.returncode == 0, (whole.stderr, streamed.stderr)
        assert streamed.stdout == whole.stdout.replace(whole_name, streamed_name)
        expected, got = read(files / whole_name), read(files / streamed_name)
        assert len(got) == 120
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-6)
    if out_name == "s.csv":  # a .npy has no ID columns: the same numbers without them
        out = run_here("score", table_model, "data.npy", "--stream", "-o", "npy.csv", cwd=files)
        assert out.returncode == 0, out.stderr
        scores = pd.read_csv(files / "npy.csv")
        assert list(scores.columns) == ["anomaly_score", "outlier", "p_value", "top_features"]
        np.testing.assert_allclose(scores["anomaly_score"],
                                   pd.read_csv(files / "score_whole_s.csv")["anomaly_score"])


def test_score_stream_of_an_image_folder_names_the_files(files):
    fitted = run_here("fit", "imgs", "-o", "imgs_dense.aekit", "--kind", "dense", "--epochs", "2",
                 "--quiet", cwd=files)
    assert fitted.returncode == 0, fitted.stderr
    whole = run_here("score", "imgs_dense.aekit", "imgs", "-o", "imgs_whole.csv", cwd=files)
    streamed = run_here("score", "imgs_dense.aekit", "imgs", "--stream", "-o", "imgs_streamed.csv",
                   cwd=files)
    assert whole.returncode == 0 and streamed.returncode == 0, (whole.stderr, streamed.stderr)
    expected, got = pd.read_csv(files / "imgs_whole.csv"), pd.read_csv(files / "imgs_streamed.csv")
    assert got["file"].tolist()[:2] == ["digit00.png", "digit01.png"]
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-6)


def test_a_failed_streamed_score_leaves_the_old_output_and_no_partial_file(files, table_model):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pd.read_parquet(files / "data.parquet")
    table.loc[100, "f3"] = np.nan  # in the 5th row group of 25 rows
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False),
                   files / "broken.parquet", row_group_size=25)
    folder = files / "out"
    folder.mkdir()
    (folder / "scores.csv").write_text("old results\n")
    out = run("score", table_model, "broken.parquet", "--id-column", "customer", "--stream",
              "-o", "out/scores.csv", cwd=files)
    assert out.returncode == 2, out.stderr
    assert "row 101" in out.stderr and "f3" in out.stderr
    assert (folder / "scores.csv").read_text() == "old results\n"
    assert sorted(p.name for p in folder.iterdir()) == ["scores.csv"]  # no temporary left
    bad = run("score", table_model, "data.npy", "--stream", "--id-column", "customer", "-o",
              "x.csv", cwd=files)
    assert bad.returncode == 2 and "drop --id-column" in bad.stderr, bad.stderr


def test_score_flags_the_training_fraction_for_a_cross_entropy_model(files, row_groups):
    """The threshold and the flagged errors are in the model's own loss (here BCE), so a
    model's training rows are flagged at its --contamination."""
    fitted = run_here("fit", "data.csv", "-o", "bce.aekit", "--loss", "bce", "--epochs", "3",
                      "--contamination", "0.05", "--quiet", cwd=files)
    assert fitted.returncode == 0, fitted.stderr
    for extra in ((), ("--stream",)):
        data = "data.csv" if not extra else "groups.parquet"
        out = run_here("score", "bce.aekit", data, "--id-column", "customer", *extra, "-o",
                       "bce.csv", cwd=files)
        assert out.returncode == 0, out.stderr
        flagged = pd.read_csv(files / "bce.csv")["outlier"].mean()
        assert 0.03 <= flagged <= 0.07, flagged


def test_stream_takes_data_as_loading_does_ids_with_nulls_images_and_empty_files(files,
                                                                                  table_model):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # integer IDs with nulls in one row group only: every chunk keeps integer IDs
    table = pd.read_parquet(files / "data.parquet").drop(columns="customer")
    ids = pa.array([None if i in (60, 61) else i for i in range(120)], pa.int64())
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False).append_column("id", ids),
                   files / "int_ids.parquet", row_group_size=25)
    for out_name in ("ids.parquet", "ids.csv"):
        out = run_here("score", table_model, "int_ids.parquet", "--id-column", "id", "--stream",
                       "-o", out_name, cwd=files)
        assert out.returncode == 0, out.stderr
        got = (pd.read_parquet if out_name.endswith("parquet") else pd.read_csv)(files / out_name)
        assert got["id"].isna().sum() == 2 and got["id"].dropna().tolist() == [
            i for i in range(120) if i not in (60, 61)]
        if out_name == "ids.csv":
            assert (files / out_name).read_text().splitlines()[1].startswith("0,")  # not 0.0
    # a float32 table and 0..255 float images: what loading them gives (tables in float64,
    # images divided by 255 when they exceed 1, whatever their dtype)
    np.save(files / "f32.npy", table.to_numpy(np.float32))
    images = np.random.RandomState(0).randint(0, 256, (40, 1, 8, 8)).astype(np.float32)
    np.save(files / "f255.npy", images)
    fitted = run_here("fit", "f255.npy", "-o", "f255.aekit", "--kind", "dense", "--epochs", "2",
                      "--quiet", cwd=files)
    assert fitted.returncode == 0, fitted.stderr
    for model, data in ((table_model, "f32.npy"), ("f255.aekit", "f255.npy")):
        for command in ("encode", "score"):
            whole = run_here(command, model, data, "-o", "whole.npy", cwd=files)
            streamed = run_here(command, model, data, "--stream", "-o", "streamed.npy",
                                cwd=files)
            assert whole.returncode == 0 and streamed.returncode == 0, streamed.stderr
            expected, got = np.load(files / "whole.npy"), np.load(files / "streamed.npy")
            assert got.dtype == expected.dtype and got.shape == expected.shape
            if command == "score":  # anomaly_score, p_value: images are /255 in float32 when
                # loaded and *(1/255) when streamed, so a score may cross a held-out score's
                # rank and its p-value move by one rank (1 / (held-out rows + 1))
                np.testing.assert_allclose(got[:, 0], expected[:, 0], rtol=1e-5)
                assert np.abs(got[:, 1] - expected[:, 1]).max() <= 0.21
            else:
                np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    # a file without rows is refused, as when loading it, and nothing is written
    pq.write_table(pa.Table.from_pandas(table.iloc[:0], preserve_index=False),
                   files / "empty.parquet")
    out = run_here("score", table_model, "empty.parquet", "--stream", "-o", "never.csv",
                   cwd=files)
    assert out.returncode == 2 and "no rows" in out.stderr and not (files / "never.csv").exists()


def test_denoise_stream_writes_what_denoise_writes_for_tables_and_image_folders(files,
                                                                                table_model,
                                                                                row_groups):
    for extra, out_name in (((), "dn_whole.csv"), (("--stream",), "dn_streamed.csv")):
        out = run_here("denoise", table_model, "groups.parquet", "--id-column", "customer",
                       *extra, "-o", out_name, cwd=files)
        assert out.returncode == 0, out.stderr
    whole, streamed = (pd.read_csv(files / n) for n in ("dn_whole.csv", "dn_streamed.csv"))
    assert list(streamed.columns) == ["customer"] + [f"f{i}" for i in range(12)]
    pd.testing.assert_frame_equal(streamed, whole, check_exact=False, rtol=1e-6)

    fitted = run_here("fit", "imgs", "-o", "imgs_conv.aekit", "--epochs", "1", "--quiet",
                      cwd=files)
    assert fitted.returncode == 0, fitted.stderr
    for extra, folder in (((), "dn_imgs_whole"), (("--stream",), "dn_imgs_streamed")):
        out = run_here("denoise", "imgs_conv.aekit", "imgs", *extra, "-o", folder, cwd=files)
        assert out.returncode == 0 and "Denoised 30 images" in out.stdout, out.stderr
    names = sorted(p.name for p in (files / "dn_imgs_streamed").iterdir())
    assert names == sorted(p.name for p in (files / "imgs").iterdir())
    for name in names:
        a = np.asarray(Image.open(files / "dn_imgs_whole" / name), dtype=int)
        b = np.asarray(Image.open(files / "dn_imgs_streamed" / name), dtype=int)
        assert np.abs(a - b).max() <= 1  # the same pixels, to 8-bit rounding
