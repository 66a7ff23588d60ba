"""Training health: measure what a network does inside and name the cause when it does not learn.

Replaces the hand-made plots of Karpathy's makemore part 3 and fastai's activation statistics
(``register_forward_hook`` + matplotlib), and the checklist of CS231n's notes, with numbers and
findings:

    stats.py         one layer's activations (mean, std, histogram, saturated and dead shares),
                     one parameter's gradient std, gradient/data and update/data ratios
    recorder.py      `Recorder`: every K steps, the statistics of every layer and parameter, read
                     through forward hooks and around ``optimizer.step()`` (the update applied)
    initial_loss.py  the loss a freshly initialised model should start from (ln C, or the loss of
                     predicting 0 on this target), checked before the first step of every run
    findings.py      the rules: saturated, dead-units, vanishing/exploding-gradients,
                     update-ratio-high/low, initial-loss; each with a threshold and the flag to try
"""
