"""The pipeline's stages: the commands dvc.yaml runs as ``python -m imbalance_lab <stage> ...``.

The one list of them. The command line treats these as pipeline stages (dvc.lock checked for a cut before
any work, "done in" logged), and the warm runner forks these and nothing else. It imports nothing: the warm
runner's caller reads it before deciding whether to load anything heavy.
"""

STAGES = ("check", "generate", "split", "resample", "train", "evaluate", "ceiling", "compare", "score", "benchmark",
          "rank")
