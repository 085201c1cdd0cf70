"""The CI loop's history of runs: its record format and append-only store (``store``), the git facts
of a run (``git``), and what a run is compared with (``reference``): the pull request's merge base,
the previous run of the branch, and the window of earlier passing runs the window gate predicts from."""
