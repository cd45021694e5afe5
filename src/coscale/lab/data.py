"""Training text that ships with every Python install: the standard library's own source code.

Files are ordered by a stable hash of their relative path (deterministic, yet mixing packages
instead of reading `asyncio/` then `concurrent/`), read up to a byte budget, and split into train
and validation *by file* (the same hash), so validation text is never a continuation of a training
document. Tokens are bytes (vocab 256) or a small BPE trained with `tokenizers` and cached.
Batches are a pure function of (seed, step): resuming at step s replays exactly the same data.
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from coscale.errors import CoscaleError

TEXT_SUFFIXES = (".py", ".txt", ".md", ".rst")


@dataclass(frozen=True, kw_only=True, slots=True)
class Corpus:
    """Token streams of the train and validation documents and where they came from."""

    train: torch.Tensor  # int64 token ids
    val: torch.Tensor
    source: str
    n_files: int
    n_bytes: int
    fingerprint: str  # sha256 of the bytes read, so two runs can prove they saw the same text
    vocab_size: int


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def list_text_files(root: Path) -> list[Path]:
    """Text files under `root`, ordered by crc32 of their relative path (then the path itself)."""
    if not root.is_dir():
        raise CoscaleError(f"text directory {str(root)!r} does not exist; pass --data with a folder of text files")
    skip = {"site-packages", "dist-packages", "__pycache__"}
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]  # prune: never walk installed packages
        files += [Path(dirpath) / f for f in filenames if f.endswith(TEXT_SUFFIXES)]
    files = [p for p in files if p.is_file()]
    rel = sorted(
        (zlib.crc32(p.relative_to(root).as_posix().encode()), p.relative_to(root).as_posix(), p) for p in files
    )
    return [p for _, _, p in rel]


def _is_val(rel_path: str, val_fraction: float) -> bool:
    return (zlib.crc32(b"val:" + rel_path.encode()) % 10_000) < val_fraction * 10_000


def read_documents(root: Path, max_bytes: int, val_fraction: float) -> tuple[list[bytes], list[bytes], str]:
    """(train docs, val docs, sha256) from files under root, stopping once `max_bytes` were read and both
    splits hold a document (a split still empty then takes one more file, cut to its share of the budget)."""
    train: list[bytes] = []
    val: list[bytes] = []
    digest = hashlib.sha256()
    total = 0
    for path in list_text_files(root):
        rel = path.relative_to(root).as_posix()
        side = val if _is_val(rel, val_fraction) else train
        if total >= max_bytes and side:  # the budget is spent: only a split still empty reads on
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if not data.strip():
            continue
        share = val_fraction if side is val else 1.0 - val_fraction
        data = data[: max_bytes - total] if total < max_bytes else data[: max(int(share * max_bytes), 1)]
        digest.update(rel.encode() + b"\0" + data)
        side.append(data)
        total += len(data)
        if total >= max_bytes and train and val:
            break
    if not train or not val:
        raise CoscaleError(
            f"text directory {str(root)!r} has too little text ({total} bytes in {len(train) + len(val)} "
            f"files with suffixes {', '.join(TEXT_SUFFIXES)}); point --data at a folder with several text files"
        )
    return train, val, digest.hexdigest()


def _bytes_to_tokens(docs: list[bytes]) -> torch.Tensor:
    return torch.frombuffer(bytearray(b"\n".join(docs)), dtype=torch.uint8).to(torch.int64)


def _bpe_tokens(train: list[bytes], val: list[bytes], vocab_size: int, cache: Path, fingerprint: str):
    """Train (or load from `cache`) a byte-level BPE on the training docs only."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    path = cache / f"bpe-{vocab_size}-{fingerprint[:16]}.json"
    if path.is_file():
        tok = Tokenizer.from_file(str(path))
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
        )
        tok.train_from_iterator((d.decode("utf-8", "replace") for d in train), trainer=trainer)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tok.save(str(tmp))
        tmp.replace(path)

    def enc(docs: list[bytes]) -> torch.Tensor:
        text = "\n".join(d.decode("utf-8", "replace") for d in docs)
        return torch.tensor(tok.encode(text).ids, dtype=torch.int64)

    return enc(train), enc(val), tok.get_vocab_size()


def load_corpus(
    *,
    data_dir: Path | None,
    max_bytes: int,
    val_fraction: float,
    tokenizer: str = "byte",
    vocab_size: int = 256,
    cache_dir: Path | None = None,
) -> Corpus:
    """Read, split and tokenise the corpus (stdlib source unless `data_dir` is given)."""
    root = stdlib_dir() if data_dir is None else Path(data_dir)
    train_docs, val_docs, fp = read_documents(root, max_bytes, val_fraction)
    n_bytes = sum(map(len, train_docs)) + sum(map(len, val_docs))
    if tokenizer == "byte":
        train, val, vocab = _bytes_to_tokens(train_docs), _bytes_to_tokens(val_docs), 256
    elif tokenizer == "bpe":
        if vocab_size <= 256:
            raise CoscaleError(f"--vocab must exceed the 256 byte tokens a BPE starts from, got {vocab_size}")
        if cache_dir is None:
            raise CoscaleError("the BPE tokenizer needs a cache folder; pass --out")
        train, val, vocab = _bpe_tokens(train_docs, val_docs, vocab_size, cache_dir, fp)
    else:
        raise CoscaleError(f"unknown tokenizer {tokenizer!r}; use 'byte' or 'bpe'")
    source = "python-stdlib" if data_dir is None else str(root)
    return Corpus(
        train=train,
        val=val,
        source=source,
        n_files=len(train_docs) + len(val_docs),
        n_bytes=n_bytes,
        fingerprint=fp,
        vocab_size=vocab,
    )


def train_batch(corpus: Corpus, *, seed: int, step: int, batch_size: int, seq_len: int) -> tuple[torch.Tensor, ...]:
    """Random windows for `step`, drawn from a generator seeded by (seed, step) alone."""
    n = corpus.train.numel() - seq_len - 1
    if n <= 0:
        raise CoscaleError(f"training text ({corpus.train.numel()} tokens) is shorter than seq_len={seq_len}")
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    starts = torch.randint(0, n, (batch_size,), generator=gen)
    windows = torch.stack([corpus.train[s : s + seq_len + 1] for s in starts.tolist()])
    return windows[:, :-1], windows[:, 1:]


def val_batches(corpus: Corpus, *, n_batches: int, batch_size: int, seq_len: int) -> list[tuple[torch.Tensor, ...]]:
    """Fixed, non-overlapping validation windows from the start of the validation stream."""
    usable = (corpus.val.numel() - 1) // seq_len
    if usable < 1:
        raise CoscaleError(f"validation text ({corpus.val.numel()} tokens) is shorter than seq_len={seq_len}")
    count = min(usable, n_batches * batch_size)
    x = corpus.val[: count * seq_len].view(count, seq_len)
    y = corpus.val[1 : count * seq_len + 1].view(count, seq_len)
    return [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, count, batch_size)]
