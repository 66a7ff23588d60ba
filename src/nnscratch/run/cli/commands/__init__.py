"""One module per ``nnscratch`` sub-command; each defines ``command``."""
