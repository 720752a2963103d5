"""Fuzzing the model loader's description: mutated JSON with a recomputed checksum (so only the
loader's own checks stand between the file and the estimator) gives a model or a
``ModelFileError``, nothing else, in under 5 s each, in bounded memory."""

import json
import subprocess
import sys
import textwrap

import numpy as np

import aekit

CHILD = textwrap.dedent(
    """
    import json, random, sys, time
    import aekit
    from safetensors.torch import load, save
    from aekit.saving.model_file import _data_section, _digest

    path, n_mutations, genuine_only = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    blob = open(path, "rb").read()
    n = int.from_bytes(blob[:8], "little")
    meta = json.loads(blob[8:8 + n])["__metadata__"]
    tensors = load(blob)
    config = json.loads(meta["config"])
    rng = random.Random(0)
    VALUES = [None, [], {}, "x", -1, 0, 10**12, 1e308, float("nan"), True, [[[]]], [1, "a"],
              {"name": "gaussian_noise"}, "Autoencoder", [10**9] * 3]

    def paths(node, prefix=()):
        yield prefix
        if isinstance(node, dict):
            for k, v in node.items():
                yield from paths(v, prefix + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node[:4]):
                yield from paths(v, prefix + (i,))

    all_paths = [p for p in paths(config) if p]

    def mutated():
        copy = json.loads(json.dumps(config))
        for _ in range(rng.randint(1, 3)):
            where = rng.choice(all_paths)
            node = copy
            try:
                for key in where[:-1]:
                    node = node[key]
                action = rng.random()
                if action < 0.15 and isinstance(node, dict):
                    node.pop(where[-1], None)
                elif action < 0.25 and isinstance(node, dict):
                    node["unknown_" + str(rng.randint(0, 9))] = rng.choice(VALUES)
                else:
                    node[where[-1]] = rng.choice(VALUES)
            except (KeyError, IndexError, TypeError):
                continue
        return copy

    worst, outcomes = 0.0, {}
    for i in range(n_mutations):
        description = config if genuine_only else mutated()
        new = dict(meta, config=json.dumps(description))
        new.pop("sha256")
        new["sha256"] = _digest(new, _data_section(save(tensors, metadata=new)))
        data = save(tensors, metadata=new)
        open("fuzzed.aekit", "wb").write(data)
        start = time.perf_counter()
        try:
            aekit.load("fuzzed.aekit")
            kind = "loaded"
        except aekit.ModelFileError:
            kind = "ModelFileError"
        except Exception as exc:  # what the test forbids
            kind = f"{type(exc).__name__}: {str(exc)[:120]}"
        worst = max(worst, time.perf_counter() - start)
        outcomes[kind] = outcomes.get(kind, 0) + 1
    peak = next(int(line.split()[1]) for line in open("/proc/self/status")
                if line.startswith("VmHWM"))  # this process's own (not ru_maxrss: the fork's)
    print(json.dumps({"peak": peak,
                      "worst": worst, "outcomes": outcomes}))
    """
)


def _run(tmp_path, model_path, n, genuine):
    (tmp_path / "fuzz.py").write_text(CHILD)
    out = subprocess.run([sys.executable, str(tmp_path / "fuzz.py"), str(model_path), str(n),
                          "1" if genuine else "0"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_mutated_descriptions_give_only_model_file_errors_in_bounded_time_and_memory(tmp_path):
    X = np.random.RandomState(0).rand(80, 6)
    detector = aekit.OutlierDetector(aekit.Autoencoder(3, max_iter=2,
                                                       constraints=(aekit.GaussianNoise(0.1),)),
                                     random_state=0).fit(X)
    detector.save(tmp_path / "m.aekit")
    genuine = _run(tmp_path, tmp_path / "m.aekit", 20, genuine=True)
    fuzzed = _run(tmp_path, tmp_path / "m.aekit", 300, genuine=False)
    assert set(fuzzed["outcomes"]) <= {"loaded", "ModelFileError"}, fuzzed["outcomes"]
    assert fuzzed["outcomes"].get("ModelFileError", 0) > 100
    assert fuzzed["worst"] < 5.0
    assert fuzzed["peak"] < 2 * genuine["peak"], (fuzzed["peak"], genuine["peak"])
