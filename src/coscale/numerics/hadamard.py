"""Random Hadamard transform (RHT): spread outliers across a block before quantizing.

M = diag(s) @ H_n / sqrt(n), with H_n the Sylvester Hadamard matrix and s a fixed random +-1
vector from `seed`.  M is orthonormal, so rotating both GEMM operands along the reduction dim
leaves the product unchanged: (x M)(w M)^T = x w^T.  NVFP4 training uses n = 16 on the Wgrad
operands only (TE uses one fixed sign vector for the whole run: same seed everywhere here).
"""

from __future__ import annotations

import torch

from coscale.errors import CoscaleError


def _check_size(size: int) -> None:
    if size < 1 or size & (size - 1):
        raise CoscaleError(f"Hadamard size must be a power of two (1, 2, 4, ... 16, ...), got {size}")


def sylvester(size: int) -> torch.Tensor:
    """Unnormalised +-1 Sylvester Hadamard matrix of order `size` (float64)."""
    _check_size(size)
    h = torch.ones((1, 1), dtype=torch.float64)
    while h.shape[0] < size:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


# Transformer Engine's hard-coded 16-entry sign vector for the NVFP4 Wgrad RHT (get_wgrad_sign_vector)
TE_WGRAD_SIGNS = (1, 1, 1, -1, 1, -1, -1, -1, -1, -1, -1, 1, -1, 1, -1, -1)


def sign_vector(size: int, seed: int | str = 0) -> torch.Tensor:
    """Fixed +-1 vector: seed "te" gives Transformer Engine's 16-entry Wgrad vector."""
    if seed == "te":
        if size != len(TE_WGRAD_SIGNS):
            raise CoscaleError(f"Transformer Engine's sign vector has 16 entries; got Hadamard size {size}")
        return torch.tensor(TE_WGRAD_SIGNS, dtype=torch.float64)
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randint(0, 2, (size,), generator=gen).to(torch.float64) * 2 - 1


def hadamard_matrix(size: int = 16, *, seed: int | str | None = 0) -> torch.Tensor:
    """Orthonormal RHT matrix diag(s) H / sqrt(size) in float32; seed=None gives plain H/sqrt(n),
    seed="te" (size 16) Transformer Engine's sign vector."""
    h = sylvester(size) / size**0.5
    if seed is not None:
        h = sign_vector(size, seed)[:, None] * h
    return h.to(torch.float32)


def random_hadamard_transform(
    x: torch.Tensor, size: int = 16, *, seed: int | None = 0, dim: int = -1, inverse: bool = False
) -> torch.Tensor:
    """Apply the RHT to consecutive blocks of `size` along `dim` (x @ M per block, or M^T)."""
    _check_size(size)
    n = x.shape[dim]
    if n % size:
        raise CoscaleError(
            f"dimension {dim} has {n} elements, not a multiple of the Hadamard size {size}; "
            f"pad it with zeros or choose a size dividing {n}"
        )
    m = hadamard_matrix(size, seed=seed).to(device=x.device, dtype=x.dtype)
    if inverse:
        m = m.T
    t = x.movedim(dim, -1)
    out = (t.reshape(*t.shape[:-1], n // size, size) @ m).reshape(t.shape)
    return out.movedim(-1, dim)
