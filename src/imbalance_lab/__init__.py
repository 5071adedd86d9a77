"""imbalance-lab: which way of handling a rare class works best, and what it costs."""
