"""percept-bench: how good does a codec really look?

One pipeline: datasets -> codec adapters -> metrics -> runner/store -> analysis -> report.
Heavy libraries (torch, imagecodecs, matplotlib) are imported inside the functions that
need them so that `bench --help` and `bench list` stay fast.
"""

__version__ = "0.1.0"
