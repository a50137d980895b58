"""Root pytest configuration: applies to the tests and to the docstring examples."""

import torch

# One torch thread: the tiny networks of the tests gain nothing from more, and on
# a shared 2-core machine idle-spinning threads slow them down many times over.
torch.set_num_threads(1)
