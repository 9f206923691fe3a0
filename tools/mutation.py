"""Mutation testing of the verifier's checks and the circuit's constraints.

Each mutant disables one check and runs the tests against it; a mutant that no test kills is a
check that nothing guards (a refactor could drop it silently). The mutants:

- ``if-false``: an ``if`` whose body raises ``VerificationError`` or ``ProofFormatError`` (or
  calls a ``_fail``-style helper that does, or raises what an error factory such as the codec's
  ``Reader._fail`` returns) on the verifier side gets the condition ``False``: the check never
  fires;
- ``raise-removed``: such a ``raise`` outside an ``if`` becomes ``pass``;
- ``identity-emptied``: an ``Identity.of(name, terms...)`` of the circuit keeps its name and
  loses its terms (it then holds for every trace);
- ``range-dropped``: a ``c.range(...)`` statement of the circuit is removed;
- ``width-dropped``: a width argument of ``add_trace`` / ``add_advice`` / ``add_linear`` becomes
  ``None`` (no range check of that column).

Every mutant runs in a scratch copy of the repository (never in place), with the golden-proof
tests deselected: a golden proof notices any change of layout, so it must not be the only
guard of anything. A mutant is *killed* when some test fails (the first failing test is
reported), *survives* when all pass, and is an *error* when pytest cannot run.

Usage::

    python tools/mutation.py --rev HEAD      # every mutant of the last commit; exit 1 if any survives
    python tools/mutation.py                 # the same on the working tree
    python tools/mutation.py --list          # list the mutants only
    python tools/mutation.py --only ligero   # mutants whose file or function matches
    python tools/mutation.py --json out.json # the table as JSON too
    python tools/mutation.py --only sumcheck --tests tests/sumcheck   # a quick partial check

The whole run takes tens of minutes on two cores (each mutant is one pytest run that stops at
the first failure), so it is a slow job, not part of the default test run.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Modules on the verifier side: every check they raise is a mutation site.
VERIFIER_MODULES = [
    "zkinfer/verifier.py",
    "zkinfer/proof.py",
    "zkinfer/codec.py",
    "zkinfer/commit/__init__.py",
    "zkinfer/security.py",
    "zkinfer/field/goldilocks.py",
    "zkinfer/field/extension.py",
    "zkinfer/commit/base.py",
    "zkinfer/commit/trivial.py",
    "zkinfer/commit/ligero/verify.py",
    "zkinfer/commit/ligero/proof.py",
    "zkinfer/commit/ligero/scheme.py",
    "zkinfer/commit/ligero/params.py",
    "zkinfer/commit/ligero/schedule.py",
    "zkinfer/sumcheck/verifier.py",
    "zkinfer/sumcheck/common.py",
    "zkinfer/lookup/gkr.py",
    "zkinfer/lookup/logup.py",
    "zkinfer/lookup/range.py",
    "zkinfer/protocol/engine.py",
    "zkinfer/protocol/relation.py",
    "zkinfer/protocol/contract.py",
    "zkinfer/protocol/pairs.py",
    "zkinfer/protocol/axis_sum.py",
    "zkinfer/protocol/constraints.py",
    "zkinfer/protocol/zerocheck.py",
    "zkinfer/protocol/matmul.py",
    "zkinfer/protocol/embedding.py",
    "zkinfer/protocol/openings.py",
    "zkinfer/protocol/range.py",
]
#: Modules that declare the circuit's identities and range checks.
CIRCUIT_MODULES = ["zkinfer/protocol/model_circuit.py", "zkinfer/protocol/requant.py",
                   "zkinfer/protocol/circuit.py",
                   *sorted(str(p.relative_to(ROOT))
                           for p in (ROOT / "zkinfer/model/ops").glob("*.py"))]
ERRORS = {"VerificationError", "ProofFormatError"}
#: Equivalent mutants: checks that cannot fire, so that no input kills their mutant. Keyed by
#: ``(path, function, kind, first line of the site)`` (not the line number, which moves), with
#: the reason. They are listed and not run; an entry that matches no site is reported and fails
#: the run (the code changed: drop or fix the entry).
EQUIVALENT = {
    ("zkinfer/proof.py", "_read_value", "raise-removed",
     'raise ProofFormatError(f"unknown value tag {tag}")'):
        "unreachable: the tag is read with r.u8(10), which refuses tags above 10, and tags 0..10 "
        "are all handled before it",
    # Redundant range checks: the column is pinned by a relation or identity over columns that
    # are range-checked, and the field-bound check (protocol/bounds.py, run when the circuit is
    # built on both sides) derives its bound from that definition; if it could not, the circuit would be
    # refused at build time, which every proving test would notice.
    ("zkinfer/model/ops/pool.py", "gadget", "width-dropped",
     'c.add_trace("pool.sum", (d,), widths["pool.sum"])'):
        "pool.sum = sum_i h[i] (the column-sum relation) over range-checked h, exact over the "
        "integers since n 2^bits(h) < p / 2",
    ("zkinfer/model/ops/layernorm.py", "gadget", "width-dropped",
     'c.add_trace(f"{P}.{key}", mat, widths[f"{P}.{key}"])'):
        "c and z: 'center' pins c = x - mean and 'scale' pins z = c rsqrt over range-checked x, "
        "mean and rsqrt, both below p / 2",
}
#: Tests run first (the attack suites, quickest first), then the rest of the default run.
#: Where a module's likeliest killers live when they are not in its package's test folder.
NEAR = {"zkinfer/model/ops/": ["tests/protocol/test_circuit_attacks.py",
                               "tests/protocol/test_layernorm_limbs.py"],
        "zkinfer/lookup/range.py": ["tests/protocol/test_range.py"],
        "zkinfer/protocol/": ["tests/protocol/test_engine_attacks.py"]}
FIRST = ["tests/test_verifier_checks.py", "tests/test_codec.py", "tests/test_crafted_keys.py",
         "tests/test_security_floor.py", "tests/test_inference_attacks.py",
         "tests/test_statement_bounds.py"]


@dataclass
class Mutant:
    """One disabled check."""

    path: str
    line: int
    function: str
    kind: str
    text: str
    result: str = ""
    killed_by: str = ""
    seconds: float = 0.0

    @property
    def ident(self) -> str:
        return f"{self.path}:{self.line} {self.kind}"


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _raises_error(stmt: ast.stmt, helpers: set[str], factories: frozenset[str] = frozenset()) -> bool:
    """Whether ``stmt`` raises one of :data:`ERRORS` (directly, through an error factory such as
    ``raise self._fail(...)``, or by calling a helper that always raises)."""
    if isinstance(stmt, ast.Raise) and isinstance(stmt.exc, ast.Call):
        name = _call_name(stmt.exc)
        return name in ERRORS or name in factories
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        f = stmt.value.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return name in helpers
    return False


def _error_factories(tree: ast.AST) -> frozenset[str]:
    """Functions that build (return, not raise) one of :data:`ERRORS`: ``Reader._fail`` of the
    codec, ``_bad`` of the model decoder. ``raise factory(...)`` is then a check site too."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            returns = [s for s in ast.walk(node) if isinstance(s, ast.Return)]
            if returns and all(isinstance(r.value, ast.Call) and _call_name(r.value) in ERRORS
                               for r in returns):
                out.add(node.name)
    return frozenset(out)


def _raising_helpers(tree: ast.AST) -> set[str]:
    """Functions whose body ends in a raise of :data:`ERRORS` unconditionally (``_fail``)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.body and _raises_error(node.body[-1], set()):
            if all(not isinstance(s, ast.If) for s in node.body):
                out.add(node.name)
    return out


class _Sites(ast.NodeVisitor):
    def __init__(self, path: str, circuit: bool, helpers: set[str],
                 factories: frozenset[str] = frozenset()) -> None:
        self.path, self.circuit, self.helpers, self.factories = path, circuit, helpers, factories
        self.sites: list[tuple[ast.AST, str, str]] = []
        self.function = "<module>"
        self.in_if: set[int] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name in self.helpers:
            return  # the helper's own raise is covered through its call sites
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    def visit_If(self, node: ast.If) -> None:
        if not self.circuit and any(_raises_error(s, self.helpers, self.factories) for s in node.body):
            self.sites.append((node, "if-false", self.function))
            self.in_if.update(id(s) for s in node.body)
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        if not self.circuit and id(node) not in self.in_if and _raises_error(node, set(), self.factories):
            self.sites.append((node, "raise-removed", self.function))

    def visit_Call(self, node: ast.Call) -> None:
        if self.circuit:
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "of" and isinstance(f.value, ast.Name) \
                    and f.value.id == "Identity" and len(node.args) > 1:
                self.sites.append((node, "identity-emptied", self.function))
            if isinstance(f, ast.Attribute) and f.attr in ("add_trace", "add_advice", "add_linear") \
                    and len(node.args) >= 3 and not (isinstance(node.args[2], ast.Constant)
                                                     and node.args[2].value is None):
                self.sites.append((node, "width-dropped", self.function))
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if self.circuit and isinstance(node.value, ast.Call):
            f = node.value.func
            if isinstance(f, ast.Attribute) and f.attr == "range" and self.function != "add_trace" \
                    and self.function != "add_linear":
                self.sites.append((node, "range-dropped", self.function))
        self.generic_visit(node)


def find_mutants(root: Path = ROOT) -> list[Mutant]:
    """Every mutation site of :data:`VERIFIER_MODULES` and :data:`CIRCUIT_MODULES`."""
    out = []
    for rel in VERIFIER_MODULES + CIRCUIT_MODULES:
        source = (root / rel).read_text()
        tree = ast.parse(source)
        circuit = rel in CIRCUIT_MODULES
        visitor = _Sites(rel, circuit, set() if circuit else _raising_helpers(tree),
                         frozenset() if circuit else _error_factories(tree))
        visitor.visit(tree)
        for node, kind, fn in visitor.sites:
            text = ast.get_source_segment(source, node) or ""
            out.append(Mutant(rel, node.lineno, fn, kind, text.splitlines()[0][:90]))
    return out


class _Apply(ast.NodeTransformer):
    def __init__(self, m: Mutant) -> None:
        self.m = m

    def _hit(self, node: ast.AST) -> bool:
        return getattr(node, "lineno", None) == self.m.line

    def visit_If(self, node: ast.If):
        self.generic_visit(node)
        if self.m.kind == "if-false" and self._hit(node):
            node.test = ast.Constant(False)
        return node

    def visit_Raise(self, node: ast.Raise):
        if self.m.kind == "raise-removed" and self._hit(node):
            return ast.Pass()
        return node

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if self._hit(node) and self.m.kind == "identity-emptied" and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "of":
            node.args = node.args[:1]
        if self._hit(node) and self.m.kind == "width-dropped" and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("add_trace", "add_advice", "add_linear"):
            node.args[2] = ast.Constant(None)
        return node

    def visit_Expr(self, node: ast.Expr):
        if self.m.kind == "range-dropped" and self._hit(node):
            return ast.Pass()
        return self.generic_visit(node)


def mutate(source: str, m: Mutant) -> str:
    """``source`` with mutant ``m`` applied (the whole module re-printed by ``ast.unparse``)."""
    tree = _Apply(m).visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def _scratch(rev: str | None = None) -> Path:
    """A copy of the package and tests: of commit ``rev`` (``git archive``; the Numba kernels
    are compiled once there, by the baseline run), or of the working tree (with the Numba
    cache, mtimes kept so it stays valid)."""
    dest = Path(tempfile.mkdtemp(prefix="zkinfer-mutants-"))
    if rev is not None:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        return dest
    for name in ("zkinfer", "tests", "setup.cfg", "pyproject.toml", "README.md", "notebooks",
                 "benchmarks"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, copy_function=shutil.copy2)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def _test_command(extra: list[str], tests: list[str] | None, root: Path = ROOT,
                  near: str | None = None) -> list[str]:
    """The pytest command, run in ``root`` (the scratch copy): its own test files, the likeliest
    killers of the mutated module first (:data:`NEAR`, then its package's folder:
    ``zkinfer/commit/...`` -> ``tests/commit``), so a killed mutant costs seconds, then the
    attack suites, then the rest."""
    if tests is None:
        every = sorted(str(p.relative_to(root)) for p in (root / "tests").rglob("test_*.py"))
        package = near.split("/")[1] if near and near.count("/") >= 2 else None
        local = [t for prefix, extra_first in NEAR.items() if near and near.startswith(prefix)
                 for t in extra_first if t in every]
        local += [t for t in every if package and t.startswith(f"tests/{package}/")
                  and t not in local]
        tests = local + [t for t in FIRST if t not in local]
        tests += [t for t in every if t not in tests]
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-rfE",
            "--deselect", "tests/test_golden_proof.py", "--deselect", "tests/commit/test_golden.py",
            *tests, *extra]


def run_mutant(scratch: Path, m: Mutant, timeout: float, extra: list[str],
               tests: list[str] | None = None) -> None:
    """Apply ``m`` in ``scratch``, run the tests, restore the file; fills ``m.result``."""
    target = scratch / m.path
    original = target.read_text()
    target.write_text(mutate(original, m))
    env = dict(os.environ, PYTHONPATH=str(scratch), PYTHONDONTWRITEBYTECODE="1")
    start = time.time()
    try:
        proc = subprocess.run(_test_command(extra, tests, scratch, m.path), cwd=scratch, env=env,
                              capture_output=True, text=True, timeout=timeout)
        out = proc.stdout + proc.stderr
        if proc.returncode == 0:
            m.result = "SURVIVED"
        elif proc.returncode == 1:
            m.result = "killed"
            found = re.search(r"^(?:FAILED|ERROR) (\S+)", out, re.M)
            m.killed_by = found.group(1) if found else "?"
        else:
            m.result = f"error (pytest exit {proc.returncode})"
            m.killed_by = out.strip().splitlines()[-1][:120] if out.strip() else ""
    except subprocess.TimeoutExpired:
        m.result = "timeout"
    finally:
        m.seconds = round(time.time() - start, 1)
        target.write_text(original)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--only", help="regular expression on 'path:line function kind'")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds per mutant")
    ap.add_argument("--json", help="write the table to this file")
    ap.add_argument("--tests", nargs="+", help="run only these test paths (default: the whole "
                    "default run, attack suites first); a quick check while writing tests")
    ap.add_argument("--rev", help="test this commit (git archive) instead of the working tree, "
                    "e.g. HEAD: uncommitted edits then cannot disturb a long run")
    ap.add_argument("--start", type=int, default=1, help="first mutant to run (1-based; with "
                    "--stop, a slice of the list, e.g. to split a run over processes)")
    ap.add_argument("--stop", type=int, help="last mutant to run (1-based, inclusive)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run (which "
                    "must pass: otherwise every mutant would look killed)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = ap.parse_args(argv)
    # the sites come from the copy under test (a commit's lines may differ from the working tree)
    scratch = _scratch(args.rev)
    mutants = find_mutants(scratch)
    keys = {(m.path, m.function, m.kind, m.text) for m in mutants}
    stale = [k for k in EQUIVALENT if k not in keys]
    for m in mutants:
        reason = EQUIVALENT.get((m.path, m.function, m.kind, m.text))
        if reason:
            m.result, m.killed_by = "equivalent", reason
    if args.only:
        mutants = [m for m in mutants if re.search(args.only, f"{m.ident} {m.function}")]
    if args.list:
        shutil.rmtree(scratch, ignore_errors=True)
        for k, m in enumerate(mutants, 1):
            mark = "  [equivalent]" if m.result == "equivalent" else ""
            print(f"{k:4d} {m.ident:55s} {m.function:28s} {m.text}{mark}")
        print(f"{len(mutants)} mutants")
        return 0
    try:
        if not args.no_baseline:
            start = time.time()
            env = dict(os.environ, PYTHONPATH=str(scratch), PYTHONDONTWRITEBYTECODE="1")
            proc = subprocess.run(_test_command(args.pytest_args, args.tests, scratch), cwd=scratch,
                                  env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
                print("baseline (no mutant) fails; fix the tests first:\n  " + "\n  ".join(tail))
                return 2
            print(f"baseline (no mutant): passed in {time.time() - start:.0f} s", flush=True)
        for k, m in enumerate(mutants, 1):
            if k < args.start or (args.stop is not None and k > args.stop):
                m.result = "not run"
                continue
            if m.result != "equivalent":
                run_mutant(scratch, m, args.timeout, args.pytest_args, args.tests)
            print(f"[{k}/{len(mutants)}] {m.ident:55s} {m.result:10s} {m.seconds:6.1f} s  {m.killed_by}",
                  flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(m) for m in mutants], indent=1))
    skipped = sum(m.result == "not run" for m in mutants)
    mutants = [m for m in mutants if m.result != "not run"]
    if skipped:
        print(f"{skipped} mutants outside --start/--stop not run")
    bad = [m for m in mutants if m.result not in ("killed", "equivalent")]
    equivalent = sum(m.result == "equivalent" for m in mutants)
    print(f"{len(mutants) - len(bad) - equivalent} of {len(mutants) - equivalent} mutants killed"
          + (f" ({equivalent} equivalent, not run)" if equivalent else ""))
    for m in bad:
        print(f"  {m.result}: {m.ident} in {m.function}: {m.text}")
    for k in stale:
        print(f"  stale EQUIVALENT entry (no such site): {k}")
    return 1 if bad or stale else 0


if __name__ == "__main__":
    sys.exit(main())
