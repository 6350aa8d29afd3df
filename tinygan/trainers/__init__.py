"""Training runs behind ``python -m tinygan.train MODEL``: :mod:`.dcgan` (DCGAN on MNIST) and
the helpers they share (:mod:`.common`)."""
