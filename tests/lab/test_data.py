"""Corpus: deterministic, split by file, batches a pure function of (seed, step), clear errors."""

from __future__ import annotations

import pytest
import torch

from coscale.errors import CoscaleError
from coscale.lab.data import list_text_files, load_corpus, stdlib_dir, train_batch, val_batches


def test_corpus_is_deterministic(corpus):
    again = load_corpus(data_dir=None, max_bytes=200_000, val_fraction=0.1)
    assert again.fingerprint == corpus.fingerprint
    assert torch.equal(again.train, corpus.train) and torch.equal(again.val, corpus.val)
    assert corpus.vocab_size == 256 and int(corpus.train.max()) < 256
    assert corpus.n_bytes <= 200_000 and corpus.val.numel() > 0


def test_file_list_is_sorted_deterministically_and_skips_site_packages():
    files = list_text_files(stdlib_dir())
    assert files == list_text_files(stdlib_dir())
    assert not any("site-packages" in p.parts for p in files)
    assert len(files) > 100


def test_batches_depend_only_on_seed_and_step(corpus):
    a = train_batch(corpus, seed=3, step=5, batch_size=4, seq_len=32)
    b = train_batch(corpus, seed=3, step=5, batch_size=4, seq_len=32)
    c = train_batch(corpus, seed=3, step=6, batch_size=4, seq_len=32)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    assert torch.equal(a[0][:, 1:], a[1][:, :-1])  # targets are inputs shifted by one


def test_val_batches_fixed_and_non_overlapping(corpus):
    batches = val_batches(corpus, n_batches=3, batch_size=2, seq_len=16)
    flat = torch.cat([x for x, _ in batches]).reshape(-1)
    assert torch.equal(flat, corpus.val[: flat.numel()])


def test_user_directory(tmp_path):
    for i in range(12):
        (tmp_path / f"doc{i}.txt").write_text(f"document {i} " * 200)
    c = load_corpus(data_dir=tmp_path, max_bytes=10**6, val_fraction=0.2)
    assert c.source == str(tmp_path) and c.n_files == 12
    assert c.train.numel() > 0 and c.val.numel() > 0


@pytest.mark.parametrize("files", [2, 3, 6, 12])
def test_a_first_file_that_fills_the_budget_still_leaves_both_splits_text(tmp_path, files):
    """Each file alone is larger than the budget: whichever split the first one lands in, the other
    still gets a document, cut to its share of the budget."""
    from coscale.lab.data import _is_val, read_documents

    for i in range(files):
        (tmp_path / f"doc{i}.txt").write_text(f"document {i} " * 2000)
    sides = {_is_val(f"doc{i}.txt", 0.2) for i in range(files)}
    if sides != {True, False}:
        with pytest.raises(CoscaleError, match="too little text"):
            read_documents(tmp_path, max_bytes=5000, val_fraction=0.2)
        return
    train, val, _ = read_documents(tmp_path, max_bytes=5000, val_fraction=0.2)
    assert train and val
    assert sum(map(len, train)) <= 5000 and sum(map(len, val)) <= 5000
    assert sum(map(len, train + val)) <= 5000 + 0.8 * 5000  # at most one more file, at its split's share


def test_missing_and_empty_directories_are_user_errors(tmp_path):
    with pytest.raises(CoscaleError, match="does not exist"):
        load_corpus(data_dir=tmp_path / "nope", max_bytes=1000, val_fraction=0.1)
    with pytest.raises(CoscaleError, match="too little text"):
        load_corpus(data_dir=tmp_path, max_bytes=1000, val_fraction=0.1)


def test_bpe_is_trained_once_and_cached(tmp_path):
    for i in range(12):
        (tmp_path / "text" / f"d{i}.py").parent.mkdir(exist_ok=True)
        (tmp_path / "text" / f"d{i}.py").write_text(f"def function_{i}(argument):\n    return argument\n" * 30)
    kwargs = {
        "data_dir": tmp_path / "text",
        "max_bytes": 10**6,
        "val_fraction": 0.2,
        "tokenizer": "bpe",
        "vocab_size": 300,
        "cache_dir": tmp_path / "cache",
    }
    a = load_corpus(**kwargs)
    assert len(list((tmp_path / "cache").glob("bpe-*.json"))) == 1
    b = load_corpus(**kwargs)
    assert torch.equal(a.train, b.train) and 256 < a.vocab_size <= 300
