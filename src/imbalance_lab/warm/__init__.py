"""The warm stage runner: each pipeline stage forked from a server that has already imported the heavy
libraries (numpy, pandas, scikit-learn, imbalanced-learn, matplotlib), as Spring or gunicorn's
``preload_app`` do. A cold stage spends 2-3 s importing them before its own work; a forked one starts
in a few milliseconds.

``python -m imbalance_lab <stage>`` first asks the server of this checkout (one per user, checkout,
interpreter, import path and library-loading environment; started in the background by the second
stage that finds none within ten minutes, which waits for it to listen: its imports are those the
stage would pay cold) to fork a child for the stage. The child takes the
caller's working directory, arguments, environment and standard streams (passed as file
descriptors), and the caller exits with the child's exit code; Ctrl-C is forwarded, and a caller that
dies takes its child with it. When anything is in doubt (no server yet, a server built from other
sources or other settings files, another environment, a folder with loose permissions, an
unexpected reply) the stage runs cold in its own process. Warm and cold write the same bytes (the
golden test runs both; tests/integration/hostile/test_hostile_warm.py changes each input a server could
miss).

Modules, from the command down:
* ``runner``: the `imbalance-lab` command (``main``) and ``server status|stop``;
* ``client``: the caller's side: ask for a stage (StageRequest), start a server, ask it how it is;
* ``server``: the server (StageServer), ``python -m imbalance_lab.warm.server serve ...``;
* ``child``: a forked child becoming the caller's stage;
* ``protocol``: where a server listens, which commands it runs (pipeline.stage_names), the wire format;
* ``fingerprint``: what a server is made of, and so when it is stale.

Only the standard library at module level, everywhere here: the caller must not pay the imports it
avoids (the server imports the stages' libraries in server.preload, the child the command line).
``IMBALANCE_LAB_WARM=0`` turns the runner off; ``imbalance-lab server status|stop`` shows and ends the
server.
"""
