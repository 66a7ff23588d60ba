"""The run: everything around the from-scratch pieces that turns them into a tool.

config.py, defaults.py   TrainConfig (one typed dataclass per run) and per-data-set defaults
build.py                 model, loss, optimizer, scheduler from a config
train.py, predict.py     the jobs behind ``nnscratch train`` and ``nnscratch predict``
checkpoint/              the run folder: safetensors + JSON, never pickle
distributed/             data-parallel training by hand (↔ DistributedDataParallel)
evaluate.py, metrics.py, summary.py, report.py, plots.py    scoring and reporting
atomic.py                atomic writes
cli/                     the ``nnscratch`` command line (it only parses and prints)
"""
