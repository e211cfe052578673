"""Many runs: presets expanded into configurations, the shared run store, and executors
(local worker processes, Slurm through submitit). Imported by run_all.py, the regression
gate and `benchmark.perf` (its grid-cost projection); it imports the run (`train`), never
the command lines.
"""
