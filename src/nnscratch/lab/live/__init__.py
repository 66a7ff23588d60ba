"""The live lab: a local web page that trains with `nnscratch.run.train` and shows it happen.

settings.py   the page's settings → a validated `TrainConfig`; the `nnscratch train` line back
session.py    one tab's run in a background thread, steered between epochs (play, pause, step,
              the five phases through `nnscratch.lab.explain`)
views.py      what the page draws, from the run's own model and data
pitfalls.py   switches that put a classic mistake into the run (`nnscratch.lab.pitfalls`)
server.py     the Starlette app (HTTP + one WebSocket per tab)
feed.py       the read-only page of a command-line run (`nnscratch train --live`)
static/       the page: plain HTML, CSS and JavaScript, served from the package, offline
"""
