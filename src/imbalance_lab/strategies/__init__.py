"""A strategy's name to its imbalanced-learn sampler, the article's KNN-filter-then-SMOTE sampler, and the
checks that each class is large enough for a sampler in every fold."""
