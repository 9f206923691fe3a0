"""Helpers of the side-by-side comparison with EZKL (``benchmarks/bench_peers.py``).

===================  ===========================================================================
module               what it holds
===================  ===========================================================================
``cases``            the four comparison cases: zkinfer configuration, sequence length, the part
                     of the float computation EZKL proves, seeded ids and float64 references
``onnx_export``      ``onnx.helper`` graphs of the same float weights (no torch)
``run_zkinfer``      setup / prove / verify of one case with zkinfer, timed, with accuracy
``run_ezkl``         the same with EZKL (local ``gen_srs``, ``asyncio.run`` where needed)
``measure``          timing, peak memory and accuracy helpers shared by both runners
===================  ===========================================================================

Both runners are meant to run in a fresh subprocess per (case, system), so that the peak resident
memory each one reports (``ru_maxrss``) belongs to that system alone.
"""
