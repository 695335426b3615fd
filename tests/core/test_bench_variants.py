"""The benches' `--variant LABEL=CHECKOUT` runs that checkout's coder, even when the bench
itself runs from this checkout (whose directory would otherwise come first on sys.path).

Real subprocesses: a throwaway checkout whose coder prints a marker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from local_eval import CODER, checkout_env  # noqa: E402


def test_a_variant_runs_its_own_checkout_from_this_checkouts_directory(tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "coder").mkdir(parents=True)
    (other / "coder" / "__init__.py").write_text("")
    (other / "coder" / "__main__.py").write_text("print('the other checkout')\n")

    proc = subprocess.run(
        [*CODER, "run", "--help"], cwd=ROOT, env=checkout_env(other), capture_output=True, text=True
    )
    assert proc.stdout.strip() == "the other checkout"

    this = subprocess.run([*CODER, "--help"], cwd=ROOT, env=checkout_env(None), capture_output=True)
    assert this.returncode == 0 and b"the other checkout" not in this.stdout
