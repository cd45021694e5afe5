"""The lab LM: token embedding, a stack of pre-norm residual blocks chosen by the pattern, LM head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from coscale.lab.config import LabModelConfig
from coscale.lab.layers import MLP, Attention, Bf16Linear, MoE, RMSNorm
from coscale.lab.mamba2 import Mamba2


class Block(nn.Module):
    """x + mixer(norm(x)): one character of the layer pattern."""

    def __init__(self, kind: str, cfg: LabModelConfig) -> None:
        super().__init__()
        self.kind = kind
        self.norm = RMSNorm(cfg.d_model)
        if kind == "M":
            self.mixer: nn.Module = Mamba2(cfg)
        elif kind == "*":
            self.mixer = Attention(cfg)
        elif kind == "-":
            self.mixer = MLP(cfg.d_model, cfg.mlp_hidden, cfg.mlp_activation)
        else:
            self.mixer = MoE(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mixer(self.norm(x))


class LabLM(nn.Module):
    """Decoder LM. The embedding and the LM head are never quantized (BF16 head, FP32 table)."""

    def __init__(self, cfg: LabModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(kind, cfg) for kind in cfg.pattern)
        self.norm = RMSNorm(cfg.d_model)
        self.head = Bf16Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self._init_weights()

    def _init_weights(self) -> None:
        """Normal(0, 0.02) projections; residual outputs scaled by 1/sqrt(2 * n_layers) (GPT-2)."""
        out_std = 0.02 / (2 * len(self.blocks)) ** 0.5
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                last = name.rsplit(".", 1)[-1]
                nn.init.normal_(module.weight, std=out_std if last in ("out", "down", "out_proj") else 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    def take_aux_loss(self) -> torch.Tensor:
        """Sum of the MoE load-balancing losses of the last forward pass (0 without MoE).

        The per-layer values are cleared, so no module keeps a reference into the autograd graph
        (which would also make the model impossible to deep-copy for evaluation).
        """
        losses = []
        for block in self.blocks:
            if isinstance(block.mixer, MoE) and block.mixer.aux_loss is not None:
                losses.append(block.mixer.aux_loss)
                block.mixer.aux_loss = None
        return torch.stack(losses).sum() if losses else torch.zeros(())

    def loss(self, tokens: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(training loss incl. weighted aux loss, plain next-token cross-entropy in nats)."""
        logits = self(tokens)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return ce + self.cfg.moe_aux_coef * self.take_aux_loss().to(ce.device), ce


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
