"""The harness: configuration, data, models, the sparsity engine, training and the grid.

Layers, from the bottom: `config`, `errors`, `schedule`, `result` (plain Python: no
torch); `data`, `models`, `devices`, `sparsity`, `flops`, `pruning`, `planning`,
`checkpoint`, `train` (the run);
`grid` and `stats` (many runs); `regression`, `perf`, `cli`, `run`, `commands` (the
command lines, which nothing below them imports). `baselines` supplies the methods that
`planning` and `pruning` ask; `reports` sits above all of it.
"""
