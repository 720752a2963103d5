"""Data larger than memory: sources read a chunk at a time, streamed fits, partial_fit."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

import aekit
from aekit import Autoencoder, ConvAutoencoder
from aekit.io import ArraySource, DataFileError, ImageFolderSource, NpySource, ParquetSource
from aekit.io.sources import open_source
from aekit.training.data import ChunkBatches

FAST = dict(n_components=4, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


def _low_rank(n, n_features=24, seed=0):
    rng = np.random.RandomState(seed)
    basis = rng.randn(5, n_features)
    return (rng.randn(n, 5) @ basis + 0.1 * rng.randn(n, n_features)).astype(np.float32)


def _rows(source):
    return np.concatenate([source.read_chunk(i) for i in range(len(source.chunks))])


# ---------------------------------------------------------------------------- sources
def test_npy_source_reads_every_row_in_chunks_without_loading_the_file(tmp_path):
    X = _low_rank(1003)
    np.save(tmp_path / "x.npy", X)
    source = NpySource(tmp_path / "x.npy", chunk_rows=100)
    assert (source.n_rows, source.n_features, len(source.chunks)) == (1003, 24, 11)
    assert source.chunks[-1] == (1000, 1003)
    np.testing.assert_array_equal(_rows(source), X)
    np.testing.assert_array_equal(source.read_chunk(3), X[300:400])


def test_npy_source_of_uint8_images_keeps_values_and_the_image_shape(tmp_path):
    images = np.random.RandomState(0).randint(0, 256, (10, 3, 5, 4)).astype(np.uint8)
    np.save(tmp_path / "img.npy", images)
    source = NpySource(tmp_path / "img.npy", chunk_rows=4)
    assert source.image_shape == (3, 5, 4) and source.n_features == 60
    # values as stored, as an array of them would be taken; scale= rescales on request
    np.testing.assert_array_equal(_rows(source), images.reshape(10, -1))
    unit = NpySource(tmp_path / "img.npy", chunk_rows=4, scale=1 / 255)
    np.testing.assert_allclose(_rows(unit), images.reshape(10, -1) / 255.0, rtol=1e-6)


def test_parquet_source_reads_row_groups_of_a_file_and_of_a_folder(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X = _low_rank(250, 6).astype(np.float64)
    table = pa.table({f"f{j}": X[:, j] for j in range(6)})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=60)
    source = ParquetSource(tmp_path / "one.parquet")
    assert len(source.chunks) == 5 and source.feature_names == [f"f{j}" for j in range(6)]
    np.testing.assert_array_equal(_rows(source), X)

    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(table.slice(0, 100), folder / "a.parquet", row_group_size=50)
    pq.write_table(table.slice(100), folder / "b.parquet", row_group_size=50)
    parts = open_source(folder)
    assert isinstance(parts, ParquetSource) and parts.n_rows == 250 and len(parts.chunks) == 5
    np.testing.assert_array_equal(_rows(parts), X)


def test_parquet_source_refuses_text_columns_unless_left_out(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"id": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]}), tmp_path / "t.pq")
    with pytest.raises(DataFileError, match=r"column 'id' is not numeric.*columns=\[\.\.\.\]"):
        ParquetSource(tmp_path / "t.pq")
    assert ParquetSource(tmp_path / "t.pq", columns=["x"]).n_features == 1


def test_image_folder_source_streams_pngs_and_names_a_wrong_size(tmp_path):
    from PIL import Image

    rng = np.random.RandomState(0)
    pixels = rng.randint(0, 256, (5, 6, 7)).astype(np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    source = ImageFolderSource(tmp_path, chunk_rows=2)
    assert source.image_shape == (1, 6, 7) and len(source.chunks) == 3
    np.testing.assert_allclose(_rows(source), pixels.reshape(5, -1) / 255.0, rtol=1e-6)
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "9.png")
    with pytest.raises(DataFileError, match=r"differ in size.*9\.png"):
        _rows(ImageFolderSource(tmp_path, chunk_rows=2))


def test_npy_source_reads_fortran_order_files_row_by_row(tmp_path):
    """``np.save(path, frame.to_numpy())`` often writes column-major files: same rows."""
    table = np.random.RandomState(0).rand(103, 7)
    images = np.random.RandomState(1).rand(11, 3, 4, 5).astype(np.float32)
    for name, array in (("t.npy", table), ("i.npy", images)):
        np.save(tmp_path / name, np.asfortranarray(array))
        source = NpySource(tmp_path / name, chunk_rows=4)
        assert np.load(tmp_path / name).flags.f_contiguous
        np.testing.assert_array_equal(_rows(source), array.reshape(len(array), -1))
        assert source.image_shape == (array.shape[1:] if array.ndim == 4 else None)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: np.save(p / "d.npy", np.zeros((4, 2, 3))), r"3-D array"),
        (lambda p: (p / "d.npy").write_bytes(b"not an npy file"), r"not a readable \.npy"),
        (lambda p: np.save(p / "d.npy", np.array([["a", "b"]])), r"<U1 values"),
    ],
)
def test_npy_source_bad_files_get_a_named_error(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(DataFileError, match=message):
        NpySource(tmp_path / "d.npy")


def test_truncated_npy_and_csv_paths_are_refused_with_the_fix(tmp_path):
    np.save(tmp_path / "t.npy", np.ones((100, 4), np.float32))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-50])
    with pytest.raises(DataFileError, match="truncated"):
        NpySource(tmp_path / "t.npy")
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataFileError, match=r"convert it once to Parquet"):
        Autoencoder().fit(str(tmp_path / "d.csv"))
    with pytest.raises(DataFileError, match="does not exist"):
        Autoencoder().fit(tmp_path / "missing.npy")


def test_a_missing_value_in_a_streamed_file_is_named_by_its_row(tmp_path):
    X = _low_rank(300)
    X[257, 3] = np.nan
    np.save(tmp_path / "nan.npy", X)
    with pytest.raises(DataFileError, match=r"nan\.npy has missing or infinite values.*row 258"):
        Autoencoder(**FAST).fit(NpySource(tmp_path / "nan.npy", chunk_rows=50))


# ---------------------------------------------------------------------------- batches
def _counting_chunks(sizes):
    """Chunks whose rows hold their global row numbers, to see which rows an epoch visits."""
    starts = np.cumsum([0, *sizes])

    def read(i):
        return torch.arange(starts[i], starts[i + 1], dtype=torch.float32)[:, None]

    return read


def test_chunk_batches_visit_every_row_once_with_full_batches_across_chunks():
    sizes = [70, 0, 45, 100, 33]
    batches = ChunkBatches(_counting_chunks(sizes), sizes, batch_size=32)
    gen = torch.Generator().manual_seed(0)
    epoch = list(batches.epoch(gen))
    rows = torch.cat(epoch)[:, 0].long().tolist()
    assert sorted(rows) == list(range(sum(sizes)))
    assert [b.shape[0] for b in epoch[:-1]] == [32] * 7 and epoch[-1].shape[0] == 248 - 224
    assert rows != sorted(rows)  # shuffled
    assert torch.cat(list(batches.epoch(None, shuffle=False)))[:, 0].long().tolist() == \
        list(range(248))


def test_chunk_batches_under_ddp_give_each_rank_its_own_chunks_and_equal_steps():
    sizes = [50, 50, 40, 30, 60, 7, 1, 33]
    ranks = [ChunkBatches(_counting_chunks(sizes), sizes, 20, rank=r, world_size=2, mix=2)
             for r in range(2)]
    generators = [torch.Generator().manual_seed(1) for _ in range(2)]
    for _ in range(4):  # the row shuffles consume each rank's generator differently
        seen = []
        for batches, generator in zip(ranks, generators):
            epoch = list(batches.epoch(generator))
            seen.append((len(epoch), set(torch.cat(epoch)[:, 0].long().tolist())))
            assert all(b.shape[0] == 10 for b in epoch)  # the global batch of 20, halved
        assert seen[0][0] == seen[1][0]  # DDP needs the same number of steps on every process
        assert not seen[0][1] & seen[1][1]  # disjoint shards
    with pytest.raises(ValueError, match="at least as many chunks"):
        ChunkBatches(_counting_chunks([10]), [10], 4, rank=0, world_size=2)


def test_chunks_emptied_by_the_validation_split_are_not_dealt_to_a_rank():
    sizes = [3, 0, 3, 0]
    for seed in range(10):
        steps = [len(list(ChunkBatches(_counting_chunks(sizes), sizes, 2, rank=r,
                                       world_size=2).epoch(torch.Generator().manual_seed(seed))))
                 for r in range(2)]
        assert steps[0] == steps[1] >= 1


# ---------------------------------------------------------------------------- estimators
def test_streamed_fit_scales_like_the_in_memory_fit_and_scores_identically(tmp_path):
    X = _low_rank(900) * 5 + 3
    np.save(tmp_path / "x.npy", X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory = Autoencoder(max_iter=15, **FAST).fit(X)
        streamed = Autoencoder(max_iter=15, **FAST).fit(NpySource(tmp_path / "x.npy",
                                                                  chunk_rows=128))
    assert streamed.scaling_ == memory.scaling_ == "standard"
    np.testing.assert_allclose(streamed.scaler_.offset, memory.scaler_.offset, rtol=1e-9)
    np.testing.assert_allclose(streamed.scaler_.factor, memory.scaler_.factor, rtol=1e-9)
    assert streamed.n_iter_ == 15 and streamed.n_features_in_ == 24
    # a different shuffle, the same problem: final losses within 10%
    assert abs(streamed.loss_curve_[-1] / memory.loss_curve_[-1] - 1) < 0.1
    # scoring a file chunk by chunk gives exactly what scoring the array gives
    path = str(tmp_path / "x.npy")
    np.testing.assert_array_equal(streamed.score_samples(path), streamed.score_samples(X))
    np.testing.assert_array_equal(streamed.transform(path), streamed.transform(X))
    np.testing.assert_array_equal(streamed.reconstruct(NpySource(path, chunk_rows=7)),
                                  streamed.reconstruct(X))


def test_streamed_fit_with_early_stopping_holds_out_rows_and_restores_the_best(tmp_path):
    np.save(tmp_path / "x.npy", _low_rank(600))
    model = Autoencoder(max_iter=40, early_stopping=True, n_iter_no_change=3, **FAST)
    model.fit(NpySource(tmp_path / "x.npy", chunk_rows=100))
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_memmap_input_streams_and_wrong_feature_counts_are_refused(tmp_path):
    np.save(tmp_path / "x.npy", _low_rank(300))
    memmap = np.load(tmp_path / "x.npy", mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Autoencoder(max_iter=3, **FAST).fit(memmap)
    assert isinstance(open_source(memmap), ArraySource) and model.n_features_in_ == 24
    np.save(tmp_path / "wide.npy", _low_rank(10, 30))
    with pytest.raises(ValueError, match="has 30 features, but Autoencoder is expecting 24"):
        model.transform(tmp_path / "wide.npy")


def test_parquet_columns_become_feature_names_and_must_match_at_scoring(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X = _low_rank(200, 5)
    pq.write_table(pa.table({f"c{j}": X[:, j] for j in range(5)}), tmp_path / "a.parquet",
                   row_group_size=64)
    pq.write_table(pa.table({f"d{j}": X[:, j] for j in range(5)}), tmp_path / "b.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Autoencoder(max_iter=3, **FAST).fit(tmp_path / "a.parquet")
    assert list(model.feature_names_in_) == [f"c{j}" for j in range(5)]
    assert model.score_samples(tmp_path / "a.parquet").shape == (200,)
    with pytest.raises(ValueError, match="give the same columns in the same order"):
        model.score_samples(tmp_path / "b.parquet")


def test_conv_autoencoder_streams_an_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.RandomState(0)
    for i in range(40):
        Image.fromarray(rng.randint(0, 256, (12, 12)).astype(np.uint8)).save(tmp_path / f"{i}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ConvAutoencoder(max_iter=2, random_state=0).fit(
            ImageFolderSource(tmp_path, chunk_rows=16))
    assert model.image_shape_ == (1, 12, 12) and model.input_ndim_ == 4
    assert model.score_samples(tmp_path).shape == (40,)


def test_conv_autoencoder_scores_a_4d_npy_like_the_array_and_checks_its_image_shape(tmp_path):
    images = np.random.RandomState(0).randint(0, 256, (30, 1, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "u8.npy", images)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamed = ConvAutoencoder(max_iter=2, random_state=0).fit(tmp_path / "u8.npy")
        in_memory = ConvAutoencoder(max_iter=2, random_state=0).fit(images)
    assert streamed.scaling_ == in_memory.scaling_ == "standard"  # values as stored, both ways
    np.testing.assert_allclose(streamed.reconstruction_error(tmp_path / "u8.npy"),
                               streamed.reconstruction_error(images), rtol=1e-5)
    assert streamed.reconstruct(tmp_path / "u8.npy").shape == (30, 1, 8, 8)  # 4-D in, 4-D out
    np.save(tmp_path / "other.npy", np.zeros((5, 1, 4, 16), np.uint8))
    with pytest.raises(ValueError, match=r"holds images of shape \(1, 4, 16\).*\(1, 8, 8\)"):
        streamed.transform(tmp_path / "other.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 1, 8, 8), np.uint8))
    with pytest.raises(DataFileError, match="has no rows"):
        streamed.transform(tmp_path / "empty.npy")


def test_greedy_pretraining_needs_the_data_in_memory(tmp_path):
    np.save(tmp_path / "x.npy", _low_rank(100))
    with pytest.raises(ValueError, match="pretraining='greedy'.*needs the data in memory"):
        Autoencoder(pretraining="greedy", **FAST).fit(tmp_path / "x.npy")


# ---------------------------------------------------------------------------- partial_fit
def test_partial_fit_epochs_continue_like_fit_epochs():
    X = _low_rank(500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = Autoencoder(max_iter=6, n_iter_no_change=100, **FAST).fit(X)
    steps = Autoencoder(**FAST)
    for _ in range(6):
        steps.partial_fit(X)
    assert steps.n_iter_ == 6 and len(steps.loss_curve_) == 6
    # the same random streams and a persistent Adam: the very same training
    np.testing.assert_allclose(steps.loss_curve_, full.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(steps.transform(X), full.transform(X), rtol=1e-5, atol=1e-6)


def test_partial_fit_on_batches_of_a_stream_and_after_loading(tmp_path):
    X = _low_rank(800)
    model = Autoencoder(**FAST)
    for start in range(0, 800, 200):
        model.partial_fit(X[start : start + 200])
    first = model.loss_curve_[0]
    for _ in range(20):
        model.partial_fit(X)
    assert model.loss_curve_[-1] < 0.6 * first  # it keeps learning
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :10])
    np.save(tmp_path / "one.npy", X[:1])
    model.partial_fit(tmp_path / "one.npy")  # later calls take any number of rows
    model.save(tmp_path / "m.aekit")
    loaded = aekit.load(tmp_path / "m.aekit")
    before = loaded.reconstruction_error(X).mean()
    loaded.partial_fit(X).partial_fit(X)
    assert loaded.n_iter_ == model.n_iter_ + 2
    assert loaded.reconstruction_error(X).mean() < before


# ---------------------------------------------------------------------------- memory
MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np
    from aekit import Autoencoder, NpySource
    from aekit.io import ArraySource

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    warnings.simplefilter("ignore")
    params = dict(n_components=8, hidden_layer_sizes=(32,), batch_size=256, random_state=0)
    Autoencoder(max_iter=1, **params).fit(np.load(sys.argv[2])[:512])  # warm up torch
    if sys.argv[4] == "detector":  # OutlierDetector streamed: fit, then score the file
        from aekit import OutlierDetector

        before = status("VmRSS")
        detector = OutlierDetector(Autoencoder(max_iter=1, **params), random_state=0)
        detector.fit(NpySource(sys.argv[1], chunk_rows=500))
        errors = detector.score_samples(NpySource(sys.argv[1], chunk_rows=500))
        growth = status("VmHWM") - before
        flagged = detector.predict(np.load(sys.argv[3])) == -1  # clean rows: about fpr=0.01
        print(growth, len(errors), flagged.mean())
        sys.exit(0)
    if sys.argv[4] == "npy":  # positioned reads: the whole resident set stays small
        before = status("VmRSS")
        model = Autoencoder(max_iter=1, **params).fit(NpySource(sys.argv[1], chunk_rows=1000))
        errors = model.reconstruction_error(NpySource(sys.argv[1], chunk_rows=1000))
        growth = status("VmHWM") - before
    else:  # np.memmap: file pages read count as resident (page cache, reclaimable), so the
        # process's own memory is RssAnon, sampled while it trains
        import threading, time
        before, peak, done = status("RssAnon"), [0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], status("RssAnon"))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        data = ArraySource(np.load(sys.argv[1], mmap_mode="r"), chunk_rows=1000)
        model = Autoencoder(max_iter=1, **params).fit(data)
        errors = model.reconstruction_error(data)
        done.set()
        sampler.join()
        growth = max(peak[0], status("RssAnon")) - before
    held_out = model.reconstruction_error(np.load(sys.argv[3])).mean()
    print(growth, len(errors), held_out)
    """
)


def _memory_run(tmp_path, reader, n_rows=80000):
    """Run MEMORY_SCRIPT on a 78 MB ``big.npy`` (written unless ``n_rows`` says it holds
    fewer rows) and check that the memory it reports grew by under MEMORY_BUDGET."""
    rng = np.random.RandomState(0)
    basis = rng.randn(6, 256)
    small = (rng.randn(10000, 6) @ basis + 0.1 * rng.randn(10000, 256)).astype(np.float32)
    held_out = (rng.randn(1000, 6) @ basis + 0.1 * rng.randn(1000, 256)).astype(np.float32)
    if n_rows == 80000:
        big = np.tile(small, (8, 1))[rng.permutation(80000)]
        np.save(tmp_path / "big.npy", big)
        assert big.nbytes > 2 * MEMORY_BUDGET
        del big
    np.save(tmp_path / "small.npy", small)
    np.save(tmp_path / "held_out.npy", held_out)
    script = tmp_path / "memory.py"
    script.write_text(MEMORY_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "big.npy"), str(tmp_path / "small.npy"),
         str(tmp_path / "held_out.npy"), reader],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    growth, n_scored, result = out.stdout.split()
    (tmp_path / "growth").write_text(growth)
    assert int(n_scored) == n_rows
    assert int(growth) < MEMORY_BUDGET, f"peak memory grew by {int(growth) / 2**20:.1f} MB"
    return small, held_out, float(result)


MEMORY_BUDGET = 32 << 20


@pytest.mark.parametrize("reader", ["npy", "memmap"])
def test_fit_on_a_file_larger_than_the_memory_budget_reaches_the_in_memory_loss(tmp_path,
                                                                                 reader):
    """A 78 MB .npy file, read by position (``NpySource``) or memory-mapped (``np.load(...,
    mmap_mode="r")``), is fitted for one epoch and scored with the process's memory growing by
    under 32 MB, and the model is as good as eight epochs over an in-memory eighth of it (the
    file holds that eighth eight times, shuffled: the same data and the same number of steps)."""
    small, held_out, streamed_error = _memory_run(tmp_path, reader)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = Autoencoder(n_components=8, hidden_layer_sizes=(32,), batch_size=256,
                                max_iter=8, n_iter_no_change=100, random_state=0).fit(small)
    memory_error = in_memory.reconstruction_error(held_out).mean()
    assert abs(float(streamed_error) / memory_error - 1) < 0.15, (streamed_error, memory_error)


def test_outlier_detector_fits_and_scores_a_file_larger_than_the_memory_budget(tmp_path):
    """The same 78 MB file through ``OutlierDetector``: its memory grows by under 32 MB too,
    by about as much as for a quarter of the file (chunks, a sample of 1,024 rows and torch's
    own buffers do not grow with the rows; about 41 bytes per row do), and clean rows it never saw
    are flagged at about its default false-positive rate of 1%."""
    _, _, flagged = _memory_run(tmp_path, "detector")
    assert flagged < 0.05, flagged
    whole = int((tmp_path / "growth").read_text())
    np.save(tmp_path / "big.npy", np.load(tmp_path / "big.npy")[:20000])
    _memory_run(tmp_path, "detector", n_rows=20000)
    quarter = int((tmp_path / "growth").read_text())
    assert whole - quarter < 8 << 20, (whole, quarter)


# ---------------------------------------------------------------------------- DDP streaming
DDP_SCRIPT = textwrap.dedent(
    """
    import sys, warnings
    import torch.distributed as dist
    from aekit import Autoencoder, NpySource

    warnings.simplefilter("ignore")
    model = Autoencoder(n_components=4, hidden_layer_sizes=(16,), batch_size=64, max_iter=6,
                        random_state=0).fit(NpySource(sys.argv[1], chunk_rows=100))
    model.save(sys.argv[2])
    more = Autoencoder(n_components=4, hidden_layer_sizes=(16,), batch_size=64, random_state=0)
    for _ in range(3):  # every call must deal the same chunks to every process
        more.partial_fit(NpySource(sys.argv[1], chunk_rows=100))
    with open(sys.argv[2] + f".rank{dist.get_rank()}", "w") as f:
        f.write(repr(model.loss_curve_[-1]))
    """
)


def test_two_processes_stream_their_own_chunks_and_learn_like_one(tmp_path):
    X = _low_rank(1030)  # uneven chunks: the ranks' shards differ in size
    np.save(tmp_path / "x.npy", X)
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(script), str(tmp_path / "x.npy"), str(tmp_path / "ddp.aekit")],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    losses = {(tmp_path / f"ddp.aekit.rank{rank}").read_text() for rank in range(2)}
    assert len(losses) == 1  # the epoch loss is reduced over both processes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = Autoencoder(n_components=4, hidden_layer_sizes=(16,), batch_size=64,
                             max_iter=6, random_state=0).fit(NpySource(tmp_path / "x.npy",
                                                                       chunk_rows=100))
    ddp = aekit.load(tmp_path / "ddp.aekit")
    ratio = ddp.reconstruction_error(X).mean() / single.reconstruction_error(X).mean()
    assert 0.8 < ratio < 1.25, ratio


# ---------------------------------------------------------------------------- OutlierDetector
def _with_outliers(n=3000, n_outliers=30, seed=0):
    """Low-rank rows with ``n_outliers`` rows pushed off the structure in one feature each."""
    X = _low_rank(n, seed=seed).astype(np.float64)
    rng = np.random.RandomState(seed + 1)
    rows = rng.choice(n, n_outliers, replace=False)
    X[rows, rng.randint(0, X.shape[1], n_outliers)] += 8 * X.std()
    y = np.zeros(n, dtype=int)
    y[rows] = 1
    return X, y


DETECTOR_MEMBER = dict(n_components=4, hidden_layer_sizes=(32,), batch_size=128, max_iter=15)


def test_outlier_detector_streams_a_file_and_scores_it_like_the_array(tmp_path):
    from sklearn.metrics import roc_auc_score

    X, y = _with_outliers()
    np.save(tmp_path / "x.npy", X)
    source = NpySource(tmp_path / "x.npy", chunk_rows=250)
    det = aekit.OutlierDetector(Autoencoder(**DETECTOR_MEMBER), random_state=0).fit(source)
    assert det.n_features_in_ == 24 and len(det.train_scores_) == 3000
    assert 200 < det.n_calibration_ < 400  # each row held out with probability 0.1
    # scoring the file chunk by chunk gives what scoring the array gives
    scores = det.score_samples(tmp_path / "x.npy")
    np.testing.assert_array_equal(scores, det.score_samples(X))
    np.testing.assert_allclose(-scores, det.train_scores_, rtol=1e-12)
    np.testing.assert_array_equal(det.predict(source), det.predict(X))
    np.testing.assert_array_equal(det.p_values(source), det.p_values(X))
    np.testing.assert_array_equal(det.feature_errors(source), det.feature_errors(X))
    streamed, whole = det.explain(source, top_k=2), det.explain(X, top_k=2)
    for key in ("features", "indices", "errors", "shares"):
        np.testing.assert_array_equal(streamed[key], whole[key])
    # it finds the planted outliers, and names their feature, as well as a fit on the array
    in_memory = aekit.OutlierDetector(Autoencoder(**DETECTOR_MEMBER), random_state=0).fit(X)
    auc_file, auc_array = (roc_auc_score(y, -d.score_samples(X)) for d in (det, in_memory))
    assert auc_file > 0.97 and abs(auc_file - auc_array) < 0.02, (auc_file, auc_array)
    X_clean = _low_rank(20, seed=5).astype(np.float64)
    X_clean[np.arange(20), np.arange(20)] += 8 * X.std()
    assert (det.explain(X_clean, top_k=1).indices[:, 0] == np.arange(20)).mean() >= 0.9
    det.save(tmp_path / "det.aekit")
    np.testing.assert_array_equal(aekit.load(tmp_path / "det.aekit").score_samples(source), scores)


def test_streamed_detector_trains_on_the_training_rows_only_and_samples_the_scaler(
        tmp_path, monkeypatch):
    from aekit.estimators import outlier_data, thresholds

    X, _ = _with_outliers(2000)
    np.save(tmp_path / "x.npy", X)
    source = NpySource(tmp_path / "x.npy", chunk_rows=128)
    # a file that fits the sample budget: the scaler is that of the same training rows in memory
    det = aekit.OutlierDetector(Autoencoder(**{**DETECTOR_MEMBER, "max_iter": 1}),
                                random_state=0).fit(source)
    train = -det.train_scores_  # the held-out rows are those whose scores calibrate
    held_out = np.isin(-train, det._calibration_scores)
    assert held_out.sum() == det.n_calibration_
    center, spread = thresholds.robust_scaler(X[~held_out])
    np.testing.assert_allclose(det._scale_center, center)
    np.testing.assert_allclose(det._scale_spread, spread)
    rows = outlier_data.TrainingRows(source, held_out, det._scale_chunk)
    assert rows.n_rows == (~held_out).sum()
    np.testing.assert_allclose(_rows(rows), det._scale(X[~held_out]), rtol=1e-5, atol=1e-6)
    # a file larger than the budget: a random sample of rows sets the scaler
    monkeypatch.setattr(outlier_data, "SAMPLE_VALUES", 24 * 300)
    sampled = aekit.OutlierDetector(Autoencoder(**{**DETECTOR_MEMBER, "max_iter": 1}),
                                    random_state=0).fit(source)
    assert not np.allclose(sampled._scale_center, center)  # not the full-data medians ...
    np.testing.assert_allclose(sampled._scale_center, center, atol=0.25 * spread.mean())  # ~


def test_streamed_detector_with_a_conv_model_on_a_4d_npy_and_on_a_memmap(tmp_path):
    images = np.random.RandomState(0).rand(120, 1, 8, 8).astype(np.float32) * 0.2
    images[:3, :, 2:6, 2:6] = 1.0  # three outliers with a bright square
    np.save(tmp_path / "img.npy", images)
    conv = ConvAutoencoder(n_components=4, conv_channels=(4,), max_iter=5, batch_size=16)
    det = aekit.OutlierDetector(conv, random_state=0).fit(tmp_path / "img.npy")
    assert det.estimators_[0].image_shape_ == (1, 8, 8)
    scores = det.score_samples(tmp_path / "img.npy")
    np.testing.assert_array_equal(scores, det.score_samples(images.reshape(120, -1)))
    assert set(np.argsort(scores)[:3]) == {0, 1, 2}
    table = _low_rank(300).astype(np.float64)
    np.save(tmp_path / "t.npy", table)
    memmap = np.load(tmp_path / "t.npy", mmap_mode="r")
    dense = aekit.OutlierDetector(Autoencoder(**{**DETECTOR_MEMBER, "max_iter": 2}),
                                  random_state=0).fit(memmap)
    np.testing.assert_array_equal(dense.score_samples(memmap), dense.score_samples(table))
    with pytest.raises(ValueError, match="has 24 features, but OutlierDetector is expecting"):
        aekit.OutlierDetector(Autoencoder(**{**DETECTOR_MEMBER, "max_iter": 1}),
                              random_state=0).fit(tmp_path / "img.npy").score_samples(memmap)


def test_streamed_detector_names_parquet_columns_in_its_explanations(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X, _ = _with_outliers(1200)
    names = [f"sensor_{j}" for j in range(X.shape[1])]
    pq.write_table(pa.table({n: X[:, j] for j, n in enumerate(names)}),
                   tmp_path / "x.parquet", row_group_size=200)
    det = aekit.OutlierDetector(Autoencoder(**DETECTOR_MEMBER), random_state=0)
    det.fit(tmp_path / "x.parquet")
    assert list(det.feature_names_in_) == names
    odd = X[:1].copy()
    odd[0, 7] += 8 * X.std()
    pq.write_table(pa.table({n: odd[:, j] for j, n in enumerate(names)}), tmp_path / "odd.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no "X does not have valid feature names"
        assert det.explain(tmp_path / "odd.parquet", top_k=1).features[0, 0] == "sensor_7"
    pq.write_table(pa.table({n: X[:, j] for j, n in enumerate(reversed(names))}),
                   tmp_path / "swapped.parquet")
    with pytest.raises(ValueError, match="give the same columns in the same order"):
        det.score_samples(tmp_path / "swapped.parquet")
