"""sk_mtl benchmarks on real data; run them with ``python -m benchmarks.run``."""
