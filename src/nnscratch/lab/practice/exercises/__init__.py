"""The exercises, one module each (found by itself: a module that defines ``EXERCISE`` and
``ORDER``), from the seed up."""
