"""Two processes on the CPU (gloo) under torchrun train the same model as one process."""

import subprocess
import sys
import textwrap

import numpy as np

import aekit
from aekit import Autoencoder

# float32: the 2e-5 agreement below holds in one precision; in bf16 a 16-row and a 32-row
# matrix product round differently (test_two_processes_agree_in_bf16 checks that path)
PARAMS = dict(n_components=3, hidden_layer_sizes=(16,), batch_size=32, max_iter=8,
              n_iter_no_change=50, random_state=3, device="cpu", precision="float32")

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch.distributed as dist
    import aekit.training.data as data
    from aekit import Autoencoder

    seen = []
    real_epoch = data.TensorBatches.epoch

    def counting_epoch(self, generator, shuffle=True):
        for batch in real_epoch(self, generator, shuffle):
            seen.append(batch.shape[0])
            yield batch

    data.TensorBatches.epoch = counting_epoch
    X = np.random.RandomState(0).rand(256, 10).astype(np.float32)
    model = Autoencoder(**PARAMS).fit(X)  # joins torchrun's process group by itself
    assert dist.is_initialized() and dist.get_world_size() == 2
    model.save(sys.argv[1])  # only rank 0 writes
    # one string, one write: torchrun's processes share stdout, unbuffered
    print(f"rank {dist.get_rank()} epochs {model.n_iter_} rows {sum(seen)}", flush=True)
    """
).replace("PARAMS", repr(PARAMS))


def run_two_processes(script, text: str, argument: str) -> subprocess.CompletedProcess:
    """Write ``text`` to ``script`` and run it in two processes under torchrun (it must exit 0)."""
    script.write_text(text)
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(script), argument],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_two_process_training_matches_one_process_with_the_same_global_batch(tmp_path):
    out = run_two_processes(tmp_path / "train.py", SCRIPT, str(tmp_path / "ddp.aekit"))
    # both ranks trained, each on its half of every global batch: 8 epochs x 128 rows
    assert out.stdout.count("epochs 8 rows 1024") == 2, out.stdout

    X = np.random.RandomState(0).rand(256, 10).astype(np.float32)
    single = Autoencoder(**PARAMS).fit(X)
    ddp = aekit.load(tmp_path / "ddp.aekit")  # the file rank 0 wrote loads
    for (name, a), b in zip(single.module_.state_dict().items(),
                            ddp.module_.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-5, err_msg=name)
    np.testing.assert_allclose(ddp.loss_curve_, single.loss_curve_, rtol=1e-4)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".aekit"] == ["ddp.aekit"]


def test_cli_nproc_launches_torchrun_and_writes_one_model(tmp_path):
    import pandas as pd

    pd.DataFrame(np.random.RandomState(1).rand(64, 5), columns=list("abcde")).to_csv(
        tmp_path / "d.csv", index=False)
    out = subprocess.run([sys.executable, "-m", "aekit.cli", "fit", "d.csv", "-o", "m.aekit",
                          "--epochs", "2", "--quiet", "--nproc", "2"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Trained with 2 processes" in out.stdout
    assert out.stdout.count("Model written to m.aekit") == 1  # rank 0 alone reports
    assert aekit.load(tmp_path / "m.aekit").estimators_[0].n_iter_ == 2


UNSEEDED_SCRIPT = textwrap.dedent(
    """
    import sys, warnings
    import torch.distributed as dist
    from aekit import Autoencoder, NpySource, OutlierDetector
    from aekit.estimators.runtime import seed_from_random_state

    warnings.simplefilter("ignore")
    member = Autoencoder(n_components=3, hidden_layer_sizes=(16,), batch_size=64, max_iter=2)
    Autoencoder(n_components=3, hidden_layer_sizes=(16,), batch_size=64, max_iter=2).fit(
        NpySource(sys.argv[1], chunk_rows=50))  # random_state=None: no seed in the script
    det = OutlierDetector(member).fit(NpySource(sys.argv[1], chunk_rows=50))
    with open(f"{sys.argv[1]}.rank{dist.get_rank()}", "w") as f:  # stdout lines interleave
        f.write(f"seed {seed_from_random_state(None)} held out {det.n_calibration_} "
                f"threshold {det.threshold_!r}")
    """
)


def test_processes_without_a_seed_share_one_and_split_the_data_alike(tmp_path):
    """With random_state=None each process would draw its own seed, shuffle and hold out
    different rows, and deal different chunks (a hang or a gloo error): process 0's seed is
    used by all."""
    np.save(tmp_path / "x.npy", np.random.RandomState(0).rand(600, 10).astype(np.float32))
    run_two_processes(tmp_path / "unseeded.py", UNSEEDED_SCRIPT, str(tmp_path / "x.npy"))
    seen = [(tmp_path / f"x.npy.rank{rank}").read_text() for rank in (0, 1)]
    assert seen[0] == seen[1] and "held out" in seen[0], seen


BF16_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    import torch.distributed as dist
    from aekit import Autoencoder

    X = np.random.RandomState(0).rand(256, 10).astype(np.float32)
    model = Autoencoder(**PARAMS).fit(X)
    weights = torch.cat([p.detach().flatten() for p in model.module_.parameters()])
    np.save(f"{sys.argv[1]}.rank{dist.get_rank()}.npy", weights.numpy())
    np.save(f"{sys.argv[1]}.loss{dist.get_rank()}.npy", np.asarray(model.loss_curve_))
    """
).replace("PARAMS", repr({**PARAMS, "precision": "bfloat16"}))


def test_two_processes_agree_in_bf16(tmp_path):
    """The bf16 path under DDP (real on AVX512-BF16/AMX CPUs, emulated elsewhere): both
    processes hold the same weights bit for bit, and they stay within bf16's rounding of the
    one-process fit: each step's products are rounded to 8 bits of mantissa, differently for
    16-row and 32-row products, and the differences add up over 64 steps (measured: at most
    0.015 on weights of size 0.3), so the weights agree to 5e-2 and the losses to 2%."""
    run_two_processes(tmp_path / "bf16.py", BF16_SCRIPT, str(tmp_path / "w"))
    rank0, rank1 = (np.load(tmp_path / f"w.rank{r}.npy") for r in (0, 1))
    np.testing.assert_array_equal(rank0, rank1)
    X = np.random.RandomState(0).rand(256, 10).astype(np.float32)
    single = Autoencoder(**{**PARAMS, "precision": "bfloat16"}).fit(X)
    flat = np.concatenate([p.detach().numpy().ravel() for p in single.module_.parameters()])
    np.testing.assert_allclose(rank0, flat, atol=5e-2)
    np.testing.assert_allclose(np.load(tmp_path / "w.loss0.npy"), single.loss_curve_, rtol=2e-2)


VAE_PARAMS = dict(n_components=4, hidden_layer_sizes=(32,), loss="bce", batch_size=64,
                  max_iter=15, n_iter_no_change=50, random_state=3, device="cpu",
                  precision="float32")
VAE_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    import torch.distributed as dist
    from sklearn.datasets import load_digits
    from aekit import Autoencoder, Variational

    X = (load_digits().data[:1500] / 16.0).astype(np.float32)
    model = Autoencoder(constraints=(Variational(),), **PARAMS).fit(X)
    weights = torch.cat([p.detach().flatten() for p in model.module_.parameters()])
    np.save(f"{sys.argv[1]}.rank{dist.get_rank()}.npy", weights.numpy())
    model.save(sys.argv[1] + ".aekit")
    """
).replace("PARAMS", repr(VAE_PARAMS))


def test_two_processes_train_a_variational_model(tmp_path):
    """DDP with a sampled code: both processes keep the same weights, and the model they train
    is as good (held-out ELBO within 3%) as the one-process fit with the same global batch
    (not equal: each process draws its own rows' codes)."""
    from sklearn.datasets import load_digits

    run_two_processes(tmp_path / "vae.py", VAE_SCRIPT, str(tmp_path / "vae"))
    rank0, rank1 = (np.load(tmp_path / f"vae.rank{r}.npy") for r in (0, 1))
    np.testing.assert_array_equal(rank0, rank1)
    X = (load_digits().data / 16.0).astype(np.float32)
    ddp = aekit.load(tmp_path / "vae.aekit")
    single = Autoencoder(constraints=(aekit.Variational(),), **VAE_PARAMS).fit(X[:1500])
    held_ddp = ddp.elbo(X[1500:], n_samples=20, random_state=0).mean()
    held_single = single.elbo(X[1500:], n_samples=20, random_state=0).mean()
    untrained = Autoencoder(constraints=(aekit.Variational(),), **{**VAE_PARAMS, "max_iter": 1})
    held_untrained = untrained.fit(X[:1500]).elbo(X[1500:], n_samples=20, random_state=0).mean()
    assert held_ddp > held_untrained + 2  # it learned
    assert abs(held_ddp - held_single) < 0.03 * abs(held_single), (held_ddp, held_single)
