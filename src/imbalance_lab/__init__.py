"""imbalance-lab: which way of handling a rare class works best, and what it costs."""

# BLAS and OpenMP threads: one per stage process unless the caller sets them (pipeline.cli pins them before
# numpy loads, tests/conftest.py for the tests; warm.fingerprint keys the warm servers on them).
THREAD_PINS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
