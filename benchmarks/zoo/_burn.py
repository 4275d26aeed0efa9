"""Shared pure-Python busy loop for the zoo apps (holds the GIL the whole time)."""


def burn(n: int) -> int:
    x = 0
    for i in range(n):
        x += i * i % 7
    return x
