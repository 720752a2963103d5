"""The report opened in headless Chromium: it renders, and the screenshot is not blank."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(tmp_path):
    out = subprocess.run([sys.executable, "-m", "aekit.cli", "demo", "--epochs", "20",
                          "--report", str(tmp_path / "report.html")],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,3000",
         f"--screenshot={shot}", (tmp_path / "report.html").as_uri()],
        capture_output=True, timeout=120,
    )
    with Image.open(shot) as img:
        pixels = np.asarray(img.convert("L"), dtype=np.float32)
    assert pixels.shape == (3000, 1000)
    # text, tables and plots: many distinct grey levels and dark ink in every third of the page
    assert len(np.unique(pixels)) > 50
    for third in np.array_split(pixels, 3):
        assert (third < 100).mean() > 0.002
