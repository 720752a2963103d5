"""Checkpoints survive SIGKILL; resuming ends with the weights of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import aekit
from aekit import Autoencoder, KLSparsity, MaskingNoise
from aekit.training import CheckpointError

PARAMS = dict(n_components=3, hidden_layer_sizes=(8,), batch_size=16, max_iter=12,
              n_iter_no_change=50, random_state=7, early_stopping=True,
              constraints=(MaskingNoise(0.2), KLSparsity(0.1, weight=0.1)))

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import aekit.training.checkpoint as ck
    import aekit.training.objective as obj
    from aekit import Autoencoder, KLSparsity, MaskingNoise

    saved_epochs, calls_after = [], [0]
    real_save, real_step = ck.save_checkpoint, obj.ReconstructionObjective.forward_and_loss

    def save(c, module, optimizer, generators, constraints, state):
        real_save(c, module, optimizer, generators, constraints, state)
        saved_epochs.append(state.epoch)

    def step(self, *args, **kwargs):
        if saved_epochs and saved_epochs[-1] >= 4:
            calls_after[0] += 1
            if calls_after[0] == 3:  # mid-epoch, after work the checkpoint does not hold
                os.kill(os.getpid(), signal.SIGKILL)
        return real_step(self, *args, **kwargs)

    import aekit.training.callbacks as callbacks
    callbacks.save_checkpoint = save  # what the CheckpointSaver callback calls
    obj.ReconstructionObjective.forward_and_loss = step
    X = np.load(sys.argv[1])
    params = PARAMS_REPR
    Autoencoder(**params, checkpoint_dir=sys.argv[2], checkpoint_every=2).fit(X)
    """
)


def _data():
    return np.random.RandomState(0).rand(120, 6).astype(np.float32)


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    X = _data()
    np.save(tmp_path / "X.npy", X)
    params_repr = ("dict(n_components=3, hidden_layer_sizes=(8,), batch_size=16, max_iter=12, "
                   "n_iter_no_change=50, random_state=7, early_stopping=True, "
                   "constraints=(MaskingNoise(0.2), KLSparsity(0.1, weight=0.1)))")
    script = tmp_path / "child.py"
    script.write_text(CHILD.replace("PARAMS_REPR", params_repr))
    ckdir = tmp_path / "ck"
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "X.npy"), str(ckdir)],
                          capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert (ckdir / "checkpoint.safetensors").exists()

    resumed = Autoencoder(**PARAMS, checkpoint_dir=ckdir, checkpoint_every=2, resume=True).fit(X)
    straight = Autoencoder(**PARAMS).fit(X)
    assert resumed.n_iter_ == straight.n_iter_ == 12
    assert resumed.loss_curve_ == straight.loss_curve_
    assert resumed.validation_scores_ == straight.validation_scores_
    for a, b in zip(resumed.module_.state_dict().values(), straight.module_.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_resume_without_a_checkpoint_starts_fresh_and_matches(tmp_path):
    X = _data()
    a = Autoencoder(**PARAMS, checkpoint_dir=tmp_path / "new", resume=True).fit(X)
    b = Autoencoder(**PARAMS).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert (tmp_path / "new" / "checkpoint.safetensors").exists()


def test_a_checkpoint_from_another_run_is_refused(tmp_path):
    X = _data()
    Autoencoder(**PARAMS, checkpoint_dir=tmp_path).fit(X)
    with pytest.raises(CheckpointError, match="belongs to another run"):
        Autoencoder(**PARAMS, checkpoint_dir=tmp_path, resume=True).fit(X[:100])
    other = {**PARAMS, "n_components": 2}
    with pytest.raises(CheckpointError, match="belongs to another run"):
        Autoencoder(**other, checkpoint_dir=tmp_path, resume=True).fit(X)


def test_a_garbled_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint.safetensors").write_bytes(b"\x00" * 50)
    with pytest.raises(CheckpointError, match="not a readable aekit checkpoint"):
        Autoencoder(**PARAMS, checkpoint_dir=tmp_path, resume=True).fit(_data())


SAVE_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from aekit import Autoencoder
    X = np.random.RandomState(1).rand(30, 4)
    model = Autoencoder(n_components=1, max_iter=2, random_state=1).fit(X)
    os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # die mid-save
    model.save(sys.argv[1])
    """
)


def test_sigkill_during_save_leaves_the_previous_file_loadable(tmp_path):
    path = tmp_path / "m.aekit"
    X = np.random.RandomState(0).rand(30, 4)
    original = Autoencoder(n_components=2, max_iter=2, random_state=0).fit(X)
    original.save(path)
    before = path.read_bytes()
    script = tmp_path / "save_child.py"
    script.write_text(SAVE_CHILD)
    proc = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert path.read_bytes() == before
    np.testing.assert_array_equal(aekit.load(path).transform(X), original.transform(X))
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(leftovers) == 1  # the half-written temporary, never the model file itself
