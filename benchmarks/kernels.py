"""The compute kernels of the benchmarks, jitted with raiden_lab.jit and in plain Python."""

from __future__ import annotations

import numpy as np

import raiden_lab

WIDTH, HEIGHT, MAX_ITER = 1600, 1200, 256
X0, X1, Y0, Y1 = -2.0, 1.0, -1.2, 1.2


@raiden_lab.jit
def mandel_row(y, width, max_iter):
    out = np.empty(width, dtype=np.int32)
    ci = -1.2 + 2.4 * y / 1200
    for x in range(width):
        cr = -2.0 + 3.0 * x / width
        zr = 0.0
        zi = 0.0
        n = 0
        while n < max_iter and zr * zr + zi * zi <= 4.0:
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            n += 1
        out[x] = n
    return out


def mandel_row_py(y, width, max_iter):
    out = [0] * width
    ci = -1.2 + 2.4 * y / 1200
    for x in range(width):
        cr = -2.0 + 3.0 * x / width
        zr = zi = 0.0
        n = 0
        while n < max_iter and zr * zr + zi * zi <= 4.0:
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            n += 1
        out[x] = n
    return out


def mandel_numpy(width, height, max_iter):
    x = np.linspace(X0, X1, width, endpoint=False)
    y = Y0 + (Y1 - Y0) * np.arange(height) / height
    c = x[None, :] + 1j * y[:, None]
    z = np.zeros_like(c)
    n = np.zeros(c.shape, dtype=np.int32)
    for _ in range(max_iter):
        live = np.abs(z) <= 2.0
        z[live] = z[live] * z[live] + c[live]
        n += live
    return n


# Both pi kernels draw from the same xorshift64* generator written out in the
# function, so the comparison is of compiled against interpreted code alone
# (Python's random.random would be C code on one side only).
MASK = 0xFFFFFFFFFFFFFFFF


@raiden_lab.jit
def pi_hits(n, seed):
    state = np.uint64(seed * 2654435761 + 88172645463325252)
    scale = 1.0 / 9007199254740992.0
    hits = 0
    for _ in range(n):
        state ^= state >> np.uint64(12)
        state ^= state << np.uint64(25)
        state ^= state >> np.uint64(27)
        x = ((state * np.uint64(2685821657736338717)) >> np.uint64(11)) * scale
        state ^= state >> np.uint64(12)
        state ^= state << np.uint64(25)
        state ^= state >> np.uint64(27)
        y = ((state * np.uint64(2685821657736338717)) >> np.uint64(11)) * scale
        if x * x + y * y <= 1.0:
            hits += 1
    return hits


def pi_hits_py(n, seed):
    state = (seed * 2654435761 + 88172645463325252) & MASK
    scale = 1.0 / 9007199254740992.0
    hits = 0
    for _ in range(n):
        state ^= state >> 12
        state ^= (state << 25) & MASK
        state ^= state >> 27
        x = (((state * 2685821657736338717) & MASK) >> 11) * scale
        state ^= state >> 12
        state ^= (state << 25) & MASK
        state ^= state >> 27
        y = (((state * 2685821657736338717) & MASK) >> 11) * scale
        if x * x + y * y <= 1.0:
            hits += 1
    return hits


def pi_hits_numpy(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    y = rng.random(n)
    return int(np.count_nonzero(x * x + y * y <= 1.0))
