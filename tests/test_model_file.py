import json
import os
import pickle
import struct

import joblib
import numpy as np
import pandas as pd
import pytest

import aekit
from aekit import Autoencoder, GaussianNoise, KLSparsity, ModelFileError, TopK


@pytest.fixture(scope="module")
def fitted():
    X = np.random.RandomState(0).rand(60, 5)
    model = Autoencoder(n_components=3, hidden_layer_sizes=(4,), max_iter=5, random_state=0,
                        constraints=(GaussianNoise(0.1), KLSparsity(0.1), TopK(2))).fit(X)
    return model, X


def test_save_and_load_round_trip(tmp_path, fitted):
    model, X = fitted
    path = tmp_path / "model.aekit"
    model.save(path)
    loaded = aekit.load(path)
    assert type(loaded) is Autoencoder
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    assert loaded.get_params()["constraints"] == model.get_params()["constraints"]
    assert loaded.loss_curve_ == model.loss_curve_ and loaded.n_iter_ == model.n_iter_
    assert loaded.hidden_layer_sizes_ == (4,)


def test_feature_names_survive_the_round_trip(tmp_path):
    df = pd.DataFrame(np.random.RandomState(0).rand(20, 3), columns=["x", "y", "z"])
    Autoencoder(n_components=2, max_iter=2).fit(df).save(tmp_path / "m.aekit")
    loaded = aekit.load(tmp_path / "m.aekit")
    assert list(loaded.feature_names_in_) == ["x", "y", "z"]
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        loaded.transform(df.to_numpy())


def test_file_is_plain_safetensors_with_aekit_metadata(tmp_path, fitted):
    from safetensors import safe_open

    fitted[0].save(tmp_path / "m.aekit")
    with safe_open(str(tmp_path / "m.aekit"), "pt") as f:
        meta = f.metadata()
        assert meta["format"] == "aekit" and meta["format_version"] == "1"
        assert json.loads(meta["config"])["estimator"] == "Autoencoder"
        assert "module.encoder.layers.0.weight" in f.keys()


def test_truncated_file_is_refused(tmp_path, fitted):
    path = tmp_path / "m.aekit"
    fitted[0].save(path)
    blob = path.read_bytes()
    for cut in (4, 20, len(blob) // 2, len(blob) - 3):
        path.write_bytes(blob[:cut])
        with pytest.raises(ModelFileError, match="truncated|not an aekit model"):
            aekit.load(path)


def test_bit_flipped_weights_are_refused(tmp_path, fitted):
    path = tmp_path / "m.aekit"
    fitted[0].save(path)
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0x40
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        aekit.load(path)


def test_foreign_files_are_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(ModelFileError, match="safetensors file but not an aekit model"):
        aekit.load(tmp_path / "other.safetensors")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ModelFileError, match="not an aekit model file"):
        aekit.load(tmp_path / "data.csv")
    with pytest.raises(FileNotFoundError, match="No model file at"):
        aekit.load(tmp_path / "missing.aekit")


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_pickle_payload_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.aekit"
    path.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(ModelFileError, match="looks like a pickle/joblib file; aekit never"):
        aekit.load(path)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_newer_format_version_asks_to_upgrade(tmp_path, fitted):
    path = tmp_path / "m.aekit"
    fitted[0].save(path)
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    header["__metadata__"]["format_version"] = "99"
    new_header = json.dumps(header).encode()
    new_header += b" " * (-len(new_header) % 8)
    path.write_bytes(struct.pack("<Q", len(new_header)) + new_header + blob[8 + n :])
    with pytest.raises(ModelFileError, match="written by a newer aekit .* Upgrade aekit"):
        aekit.load(path)


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, fitted, monkeypatch):
    model, X = fitted
    path = tmp_path / "m.aekit"
    model.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        Autoencoder(n_components=1, max_iter=1).fit(X).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.aekit"]  # no temporary left behind
    aekit.load(path)


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        Autoencoder().save(tmp_path / "m.aekit")


def test_custom_constraints_are_refused_at_save_with_a_pointer_to_joblib(tmp_path):
    from aekit.constraints import Constraint

    class MyNoise(Constraint):
        def __init__(self, scale=1.0):
            self.scale = scale

        def corrupt(self, x, generator):
            return x * self.scale

    model = Autoencoder(n_components=1, max_iter=1, constraints=(MyNoise(),))
    model.fit(np.random.rand(10, 3))
    with pytest.raises(TypeError, match="aekit's own constraints only.*joblib"):
        model.save(tmp_path / "m.aekit")


def test_joblib_pickling_works_for_scikit_learn_users(tmp_path, fitted):
    model, X = fitted
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_atomic_output_keeps_a_read_only_targets_mode_but_writes_first(tmp_path):
    """The temporary file stays writable while the block writes to it by name (a writer that
    reopens it, as pyarrow and np.save do), and takes the target's mode only at the end."""
    import os
    import stat

    from aekit.atomic import atomic_output

    target = tmp_path / "scores.csv"
    target.write_text("old\n")
    target.chmod(0o444)
    with atomic_output(target) as tmp:
        assert os.stat(tmp).st_mode & stat.S_IWUSR  # writable for its owner while writing
        tmp.write_text("new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


# ---------------------------------------------------------------------------- older files
DATA = __import__("pathlib").Path(__file__).parent / "data"


def test_files_saved_by_aekit_0_1_0_still_load_and_give_the_same_outputs():
    """tests/data holds files written by aekit 0.1.0 (commit e32aa6f), before the model-file
    code moved to aekit.saving and the estimators were re-laid out."""
    import aekit

    model = aekit.load(DATA / "v0.1.0-autoencoder.aekit")
    assert model.metadata_ == {"note": "saved by aekit 0.1.0 (e32aa6f)"}
    assert [type(c).__name__ for c in model.constraints_] == ["GaussianNoise", "KLSparsity"]
    np.testing.assert_allclose(model.transform(np.load(DATA / "v0.1.0-autoencoder-input.npy")),
                               np.load(DATA / "v0.1.0-autoencoder-codes.npy"), rtol=1e-6)
    conv = aekit.load(DATA / "v0.1.0-conv.aekit")
    np.testing.assert_allclose(conv.reconstruct(np.load(DATA / "v0.1.0-conv-input.npy")),
                               np.load(DATA / "v0.1.0-conv-recon.npy"), rtol=1e-5, atol=1e-6)
    detector = aekit.load(DATA / "v0.1.0-detector.aekit")
    X = np.load(DATA / "v0.1.0-autoencoder-input.npy")
    np.testing.assert_allclose(detector.score_samples(X),
                               np.load(DATA / "v0.1.0-detector-scores.npy"), rtol=1e-6)
