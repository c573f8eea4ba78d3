"""The commands a user runs: `python -m harness up|run|doctor|mutants|report|merge` (`cli`).

Each command with more than a few lines has its own module: `suite_run` (`harness run`),
`doctor_run`, `mutants_run` and `kill_matrix`, `html_report`, `cluster_run` (`run-local.sh --target
cluster`, with `port_forward`) and `job_run` (the in-cluster Job's entry point). A new command
goes here; what it runs lives in the packages below it.
"""
