"""A cell's pipeline (strategy x classifier) built and fitted, explained (coefficients, boundaries), and used
to score new rows."""
