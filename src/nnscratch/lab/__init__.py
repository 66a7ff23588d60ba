"""The lab: tools that show the from-scratch pieces at work and prove them (they replace nothing).

verify/     the executable mapping table (the only non-test code that imports torch.nn)
explain/    every number of a few training steps
pitfalls/   the classic mistakes, run next to the correct loop
graph/      the autograd graph of one forward pass and loss
bench/      nnscratch against its PyTorch equivalents, as ratios
"""
