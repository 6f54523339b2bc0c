def add(a, b):
    """A plausible-looking but wrong candidate: it subtracts."""
    return a - b
