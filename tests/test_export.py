"""ONNX export (issue 17): onnxruntime gives the estimator's outputs, for every model kind."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_wine

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import aekit  # noqa: E402
from aekit.cli import main  # noqa: E402
from aekit.estimators.deploy import ExportError  # noqa: E402

TOL = 1e-4


def run(path, rows):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": rows.astype(np.float32)}))), session


def close(actual, expected):
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.abs(expected).max()
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= TOL * scale


@pytest.fixture(scope="module")
def wine():
    """Raw wine features (magnesium ~100, hue ~1): the estimators standardize them."""
    X = load_wine().data
    rng = np.random.default_rng(0)
    big = X[rng.integers(0, len(X), 1000)] * rng.normal(1, 0.05, (1000, X.shape[1]))
    return X, big


@pytest.mark.parametrize("n_rows", [1, 1000])
def test_dense_autoencoder_on_standardized_rows(wine, tmp_path, n_rows):
    X, big = wine
    model = aekit.Autoencoder(n_components=4, max_iter=30, random_state=0).fit(X)
    assert model.scaling_ == "standard"
    aekit.export_onnx(model, tmp_path / "ae.onnx")
    rows = big[:n_rows]
    out, _ = run(tmp_path / "ae.onnx", rows)
    close(out["codes"], model.transform(rows))
    close(out["reconstruction"], model.reconstruct(rows))
    close(out["error"], model.reconstruction_error(rows))


@pytest.mark.parametrize("n_rows", [1, 1000])
def test_conv_autoencoder_takes_images(tmp_path, n_rows):
    images = (load_digits().data / 16).reshape(-1, 1, 8, 8).astype(np.float32)
    model = aekit.ConvAutoencoder(n_components=8, max_iter=3, random_state=0).fit(images)
    result = aekit.export_onnx(model, tmp_path / "conv.onnx")
    assert result.input_shape == (1, 8, 8)
    rows = images[:n_rows]
    out, _ = run(tmp_path / "conv.onnx", rows)
    assert out["reconstruction"].shape == (n_rows, 1, 8, 8)
    close(out["codes"], model.transform(rows))
    close(out["reconstruction"], model.reconstruct(rows).reshape(n_rows, 1, 8, 8))
    close(out["error"], model.reconstruction_error(rows))


@pytest.mark.parametrize("anomaly_score", ["combined", "all"])
@pytest.mark.parametrize("n_rows", [1, 1000])
def test_detector_score_flags_and_feature_errors(wine, tmp_path, anomaly_score, n_rows):
    X, big = wine
    detector = aekit.OutlierDetector(anomaly_score=anomaly_score, n_estimators=2,
                                     contamination=0.1, random_state=0).fit(X)
    aekit.export_onnx(detector, tmp_path / "det.onnx")
    rows = big[:n_rows]
    out, session = run(tmp_path / "det.onnx", rows)
    close(out["score"], -detector.score_samples(rows))
    close(out["feature_errors"], detector.feature_errors(rows))
    assert out["flag"].dtype == np.int64
    np.testing.assert_array_equal(out["flag"], (detector.predict(rows) == -1).astype(np.int64))
    if n_rows == 1000:
        assert 0 < out["flag"].sum() < n_rows  # the threshold is inside: both kinds occur
    meta = session.get_modelmeta().custom_metadata_map
    assert float(meta["threshold"]) == detector.threshold_
    assert meta["aekit_version"] == aekit.__version__


def test_bfloat16_training_exports_a_float32_graph(wine, tmp_path):
    X, big = wine
    model = aekit.Autoencoder(n_components=4, max_iter=5, precision="bfloat16",
                              random_state=0).fit(X)
    aekit.export_onnx(model, tmp_path / "ae.onnx")
    out, session = run(tmp_path / "ae.onnx", big[:10])
    assert session.get_inputs()[0].type == "tensor(float)"
    close(out["codes"], model.transform(big[:10]))


def test_feature_names_reach_the_metadata(wine, tmp_path):
    frame = load_wine(as_frame=True).data
    model = aekit.Autoencoder(n_components=3, max_iter=5, random_state=0).fit(frame)
    aekit.export_onnx(model, tmp_path / "ae.onnx")
    _, session = run(tmp_path / "ae.onnx", frame.to_numpy()[:2])
    import json

    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["feature_names"]) == list(frame.columns)
    assert json.loads(meta["input_shape"]) == [frame.shape[1]]


def test_unexportable_models_are_refused_in_one_line(tmp_path):
    table = pd.DataFrame({"colour": list("abcab") * 20, "size": np.arange(100.0)})
    detector = aekit.OutlierDetector(random_state=0).fit(table)
    with pytest.raises(ExportError, match="text categories or gaps.*refit to export"):
        aekit.export_onnx(detector, tmp_path / "t.onnx")
    series = np.sin(np.arange(400) / 5)
    ts = aekit.TimeSeriesDetector(window=32, random_state=0).fit(series)
    with pytest.raises(ExportError, match=r"detector\.estimator_"):
        aekit.export_onnx(ts, tmp_path / "s.onnx")
    assert not list(tmp_path.iterdir())


def test_a_mismatch_writes_nothing(wine, tmp_path, monkeypatch):
    from aekit.export import onnx as export_module

    X, _ = wine
    model = aekit.Autoencoder(n_components=4, max_iter=5, random_state=0).fit(X)
    real = export_module._expected
    monkeypatch.setattr(export_module, "_expected",
                        lambda est, rows: {k: v * 1.01 for k, v in real(est, rows).items()})
    with pytest.raises(ExportError, match="differs from the model's"):
        aekit.export_onnx(model, tmp_path / "ae.onnx")
    assert not (tmp_path / "ae.onnx").exists()


def test_missing_exporter_dependency_says_how_to_install(wine, tmp_path, monkeypatch):
    X, _ = wine
    model = aekit.Autoencoder(n_components=4, max_iter=2, random_state=0).fit(X)
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript fails
    with pytest.raises(aekit.MissingDependencyError, match=r"aekit\[onnx\]"):
        aekit.export_onnx(model, tmp_path / "ae.onnx")


def test_cli_export_scores_like_aekit_score(wine, tmp_path, capsys):
    frame = load_wine(as_frame=True).data
    frame.insert(0, "name", [f"w{i}" for i in range(len(frame))])
    data = tmp_path / "wine.csv"
    frame.to_csv(data, index=False)
    model, onnx_file, scores = tmp_path / "m.aekit", tmp_path / "m.onnx", tmp_path / "s.csv"
    assert main(["fit", str(data), "-o", str(model), "--quiet"]) == 0
    assert main(["export", str(model), "-o", str(onnx_file), "--check-data", str(data)]) == 0
    printed = capsys.readouterr().out
    assert "Checked in onnxruntime on 178 rows" in printed and "alcohol" in printed
    assert main(["score", str(model), str(data), "-o", str(scores), "--quiet"]) == 0
    expected = pd.read_csv(scores)
    out, _ = run(onnx_file, frame.drop(columns="name").to_numpy())
    close(out["score"], expected["anomaly_score"].to_numpy())
    np.testing.assert_array_equal(out["flag"], expected["outlier"].to_numpy().astype(np.int64))
    capsys.readouterr()
    assert main(["export", str(model), "-o", str(model)]) == 2
    assert main(["export", str(model), "-o", str(tmp_path / "m.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "also an input" in err[0] and ".onnx" in err[1]


def test_the_readme_example_runs(wine, tmp_path, monkeypatch, capsys):
    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text.split("## Deployment", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    X, _ = wine
    detector = aekit.OutlierDetector(random_state=0).fit(X)
    aekit.export_onnx(detector, tmp_path / "model.onnx")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert "threshold" in capsys.readouterr().out


def test_variational_and_spatial_models_export(tmp_path):
    images = (load_digits().data / 16).astype(np.float32)
    vae = aekit.Autoencoder(6, loss="bce", constraints=(aekit.Variational(),), max_iter=2,
                            random_state=0).fit(images)
    aekit.export_onnx(vae, tmp_path / "vae.onnx")
    out, _ = run(tmp_path / "vae.onnx", images[:50])
    close(out["codes"], vae.transform(images[:50]))  # the mean code, as transform
    spatial = aekit.ConvAutoencoder(code="spatial", max_iter=1, random_state=0).fit(
        images.reshape(-1, 1, 8, 8))
    aekit.export_onnx(spatial, tmp_path / "sp.onnx")
    out, _ = run(tmp_path / "sp.onnx", images[:50].reshape(-1, 1, 8, 8))
    close(out["reconstruction"], spatial.reconstruct(images[:50].reshape(-1, 1, 8, 8)))
    detector = aekit.OutlierDetector(anomaly_score="elbo", random_state=0).fit(images)
    with pytest.raises(ExportError, match="codes drawn at random"):
        aekit.export_onnx(detector, tmp_path / "d.onnx")


def test_the_forest_and_its_quantile_lookups_are_native_tree_ensembles(wine, tmp_path):
    import onnx

    X, big = wine
    detector = aekit.OutlierDetector(random_state=0).fit(X)
    assert detector.forest_ is not None and detector._score_knots is not None
    aekit.export_onnx(detector, tmp_path / "det.onnx")
    model = onnx.load(tmp_path / "det.onnx")
    ops = [n.op_type for n in model.graph.node]
    for function in model.functions:
        ops += [n.op_type for n in function.node]
    assert ops.count("TreeEnsembleRegressor") == 3  # the forest, one lookup for each part
    out, _ = run(tmp_path / "det.onnx", big)
    close(out["score"], -detector.score_samples(big))


def test_the_knot_search_tree_counts_as_searchsorted(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from aekit.estimators.forest_graph import Knots

    rng = np.random.default_rng(0)
    knots = np.sort(np.concatenate([rng.normal(size=200), np.full(7, 0.25)]))  # with ties
    node = helper.make_node("TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml",
                            n_targets=1, aggregate_function="SUM", post_transform="NONE",
                            **Knots(knots).search_tree())
    graph = helper.make_graph([node], "search",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    onnx.save(model, tmp_path / "search.onnx")
    session = ort.InferenceSession(str(tmp_path / "search.onnx"),
                                   providers=["CPUExecutionProvider"])
    probe = np.concatenate([knots, rng.normal(0, 2, 500), [-99.0, 99.0]]).astype(np.float32)
    found = session.run(None, {"x": probe[:, None]})[0].ravel()
    expected = np.searchsorted(knots.astype(np.float32), probe, side="right")
    np.testing.assert_array_equal(found, expected)
