"""``tinygan.backends.mps``: torch.backends.mps's queries. tinygan has no Metal backend."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
