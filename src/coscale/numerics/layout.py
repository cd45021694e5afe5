"""Block geometry: view a tensor as [B, nR, r, nC, c] so one amax per block is one reduction.

Why padding instead of rejecting: zero padding never changes a block's amax and the padded
slots are cropped on the way back, so any shape works and results equal what a kernel with
masked tail blocks would produce.  (Hardware GEMMs need K % block == 0; the lab's small models
often do not, and emulation should not force a reshaped model.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True, kw_only=True, slots=True)
class BlockLayout:
    """Block geometry for one tensor shape. rows/cols == 0 mean "the whole extent"."""

    shape: tuple[int, ...]
    batch: int
    rows: int
    cols: int
    block_rows: int
    block_cols: int

    @staticmethod
    def of(shape: tuple[int, ...], block: tuple[int, int]) -> BlockLayout:
        br, bc = block
        two_d = br not in (0, 1)
        cols = shape[-1] if shape else 1
        if two_d and len(shape) >= 2:
            batch, rows = math.prod(shape[:-2]), shape[-2]
        else:
            batch, rows = 1, math.prod(shape[:-1]) if len(shape) > 1 else 1
        return BlockLayout(
            shape=tuple(shape),
            batch=batch,
            rows=rows,
            cols=cols,
            block_rows=br if br else max(rows, 1),
            block_cols=bc if bc else max(cols, 1),
        )

    @property
    def padded_rows(self) -> int:
        return -(-self.rows // self.block_rows) * self.block_rows

    @property
    def padded_cols(self) -> int:
        return -(-self.cols // self.block_cols) * self.block_cols

    @property
    def blocks_shape(self) -> tuple[int, int, int, int, int]:
        return (
            self.batch,
            self.padded_rows // self.block_rows,
            self.block_rows,
            self.padded_cols // self.block_cols,
            self.block_cols,
        )

    def to_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """[*shape] -> [B, nR, r, nC, c], zero-padded."""
        t = x.reshape(self.batch, self.rows, self.cols)
        pr, pc = self.padded_rows - self.rows, self.padded_cols - self.cols
        if pr or pc:
            t = F.pad(t, (0, pc, 0, pr))
        return t.reshape(self.blocks_shape)

    def from_blocks(self, y: torch.Tensor) -> torch.Tensor:
        """[B, nR, r, nC, c] -> [*shape], cropping the padding."""
        t = y.reshape(self.batch, self.padded_rows, self.padded_cols)
        if self.padded_rows != self.rows or self.padded_cols != self.cols:
            t = t[:, : self.rows, : self.cols]
        return t.reshape(self.shape)
