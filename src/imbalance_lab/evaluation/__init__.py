"""Numbers from labels and scores: the metrics, cross-validation with the sampler inside the training folds,
costs and the cost-tuned threshold, calibration and curve data, the ceilings of the known process."""
