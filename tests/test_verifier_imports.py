"""The verifier side runs with numpy alone: checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from zkinfer.field import goldilocks as gl
from zkinfer.sumcheck import Expression
from zkinfer.sumcheck.prover import prove
from zkinfer.transcript import Transcript


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_zkinfer_does_not_import_numba():
    out = run("""
        import sys, zkinfer, zkinfer.field, zkinfer.poly, zkinfer.sumcheck
        import zkinfer.sumcheck.verifier, zkinfer.transcript
        print('numba' in sys.modules)
    """)
    assert out == "False"


def test_sumcheck_verification_without_numba(tmp_path):
    rng = np.random.default_rng(0)
    tables = [gl.random(1 << 10, rng), gl.random(1 << 10, rng)]
    out = prove(tables, Expression.product(2), Transcript(b"subprocess"))
    (tmp_path / "proof.bin").write_bytes(out.proof.to_bytes())
    (tmp_path / "claim.bin").write_bytes(gl.to_bytes(out.claim))
    (tmp_path / "evals.bin").write_bytes(gl.to_bytes(out.evaluations))
    res = run(f"""
        import sys
        from pathlib import Path
        from zkinfer.field import goldilocks as gl
        from zkinfer.sumcheck import Expression, SumcheckProof
        from zkinfer.sumcheck.verifier import verify, check_final
        from zkinfer.transcript import Transcript
        d = Path({str(tmp_path)!r})
        proof = SumcheckProof.from_bytes((d / "proof.bin").read_bytes())
        claim = gl.from_bytes((d / "claim.bin").read_bytes(), 2)
        evals = gl.from_bytes((d / "evals.bin").read_bytes(), 4).reshape(2, 2)
        expr = Expression.product(2)
        point, final = verify(claim, 10, expr, proof, Transcript(b"subprocess"))
        check_final(expr, final, evals)
        print('verified', 'numba' in sys.modules)
    """)
    assert res == "verified False"
