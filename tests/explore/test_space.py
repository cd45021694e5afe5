"""Space files: axis expansion, enumeration order, and bad input as one-line errors."""

from __future__ import annotations

import tomllib

import pytest
from tests.explore.conftest import SMALL_SPACE

from coscale.errors import CoscaleError
from coscale.explore.space import load_space, parse_space
from coscale.explore.values import expand


def test_small_space_shape(small_space_file):
    s = load_space(small_space_file)
    assert s.num_designs == 2 * 2 * 2 * 2 * 4
    assert s.num_workloads == 3 * 2 * 2
    assert s.size == s.num_designs * s.num_workloads
    assert s.scalings == (("memory.hbm.bandwidth_Bps", (1.0, 2.0)),)
    assert s.designs_per_chunk == 8 and s.num_chunks == 8
    # every design index round-trips through its coordinates, and each chunk covers consecutive designs
    for i in range(s.num_designs):
        assert s.design_index(s.design_coords(i)) == i
    assert [d for c in range(s.num_chunks) for d in s.chunk_designs(c)] == list(range(s.num_designs))


def test_design_order_is_fixed(small_space_file):
    s = load_space(small_space_file)
    d0, last = s.design(0), s.design(s.num_designs - 1)
    assert (d0.model, d0.hardware, d0.scales, d0.precision, d0.tp) == \
        ("llama-3.1-8b", "h100-sxm", (("memory.hbm.bandwidth_Bps", 1.0),), "bf16", 1)
    assert (last.model, last.hardware, last.precision, last.tp) == ("qwen3-30b-a3b", "b200", "fp8", 8)
    assert s.digest == load_space(small_space_file).digest


def test_shipped_space_is_a_million_points():
    s = load_space("llama70b-qwen30b")
    assert s.size == 1_008_000
    assert set(s.models) == {"llama-3.1-70b", "qwen3-30b-a3b"}


def test_value_specs():
    assert expand("a", {"range": [1, 10, 4]}, integer=True) == (1, 5, 9)
    assert expand("a", {"geom": [1, 1000, 4]}, integer=True) == (1, 10, 100, 1000)
    assert expand("a", [2, 2, 4], integer=True) == (2, 4)
    assert expand("a", {"scale": [0.5, 1]}, integer=False, allow_scale=True) == (0.5, 1.0)


def _with(change: str, old: str) -> dict:
    assert old in SMALL_SPACE
    return tomllib.loads(SMALL_SPACE.replace(old, change))


@pytest.mark.parametrize(("old", "new", "words"), [
    ('"hardware.memory.hbm.bandwidth_Bps"', '"hardware.memory.hbm.bandwith_Bps"', "did you mean"),
    ('"parallel.tp"', '"parallel.tpp"', "parallel.tp"),
    ('"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = []', "no values"),
    ('"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = {range = [1, 100, 0]}', "never ends"),
    ('"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = {range = [100, 1, 1]}', "empty"),
    ('"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = {range = [1, inf, 1]}', "finite"),
    ('"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = {geom = [1, nan, 3]}', "finite"),
    ('"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = [512.5]', "whole numbers"),
    ('"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = [9223372036854775807]',
     "up to 2,147,483,647"),
    ('"tokens_per_s_per_user"', '"tokens_per_user"', "unknown objective"),
    ('"h100-sxm"', '"h100-sxn"', "h100-sxm"),
    ('"llama-3.1-8b"', '"llama-3.1-8c"', "llama-3.1-8b"),
    ('"bf16"', '"bf61"', "precision"),
    ('precision = ["bf16", "fp8"]', 'precision = ["bf16", "fp8", "fp8-tensor"]', "two names of one recipe"),
    ('{scale = [1.0, 2.0]}', '[1.0, 2.0]', "scale"),
    ('{scale = [1.0, 2.0]}', '{scale = [0.0, 2.0]}', "positive"),
    ('usd_per_gpu_hour = 2.0', 'usd_per_gpu_houre = 2.0', "did you mean usd_per_gpu_hour"),
    ('usd_per_gpu_hour = 2.0', '', "usd_per_gpu_hour"),
    ('"workload.batch" = [1, 64]', '"workload.concurrensy" = [1, 64]', "did you mean workload.concurrency"),
    ('"workload.batch" = [1, 64]', '"workload.batch" = [1, 64]\n"workload.concurrency" = [8]', "both"),
    ('"workload.batch" = [1, 64]', '"workload.concurrency" = []', "no values"),
    ('"workload.batch" = [1, 64]', '"workload.batch" = [1, 64]\n[slo]\nttf_s = 1.0', "did you mean ttft_s"),
    ('"workload.batch" = [1, 64]', '"workload.batch" = [1, 64]\n[slo]\ntpot_s = -1.0', "slo.tpot_s"),
    ('"workload.batch" = [1, 64]', '"workload.batch" = [1, 64]\n[slo]\ntpot_s = inf', "positive number"),
    ('usd_per_gpu_hour = 2.0', 'usd_per_gpu_hour = 2.0\nslo = 3', "slo must be a table"),
])
def test_bad_input_is_one_line(old, new, words):
    with pytest.raises(CoscaleError) as info:
        parse_space(_with(new, old))
    message = str(info.value)
    assert words in message and "\n" not in message


def test_nested_tables_mean_dotted_axes():
    doc = tomllib.loads('[axes]\nmodel = "llama-3.1-8b"\nhardware = "h100-sxm"\n[axes.parallel]\ntp = [1, 2]\n')
    assert parse_space(doc).tp == (1, 2)


def test_missing_space_file_names_shipped_ones():
    with pytest.raises(CoscaleError, match="llama70b-qwen30b"):
        load_space("no-such-space")


def test_too_large_space_is_refused():
    doc = tomllib.loads(SMALL_SPACE.replace('"workload.output_len" = {geom = [128, 1024, 2]}',
                                            '"workload.output_len" = {range = [1, 100001]}\n'
                                            '"parallel.pp" = {range = [1, 100001]}'))
    with pytest.raises(CoscaleError, match="narrow an axis"):
        parse_space(doc)


def test_more_workloads_per_design_than_fit_in_memory_are_refused():
    """A design's workloads are evaluated together: 3.2e7 of them (two batches; the space is under the limit
    on points) are refused, since 4e9 crashed with an out-of-memory traceback."""
    doc = tomllib.loads(SMALL_SPACE.replace('"workload.output_len" = {geom = [128, 1024, 2]}',
                                            '"workload.output_len" = {geom = [1000, 1e9, 4000]}').replace(
        '"workload.input_len" = [512, 4096, 131072]', '"workload.input_len" = {geom = [1000, 1e9, 4000]}'))
    with pytest.raises(CoscaleError, match=r"3\.2e\+07 workloads .* per design"):
        parse_space(doc)


def test_concurrency_is_another_name_for_batch():
    by_batch = parse_space(tomllib.loads(SMALL_SPACE))
    by_conc = parse_space(_with('"workload.concurrency" = [1, 64]', '"workload.batch" = [1, 64]'))
    assert by_conc.batch == by_batch.batch == (1, 64)
    assert by_conc.digest == by_batch.digest
    auto = parse_space(_with('"workload.concurrency" = "auto"', '"workload.batch" = [1, 64]'))
    assert auto.batch is None


def test_slo_limits_are_read_and_change_the_digest():
    plain = parse_space(tomllib.loads(SMALL_SPACE))
    assert plain.slo_ttft_s is None and plain.slo_tpot_s is None
    s = parse_space(tomllib.loads(SMALL_SPACE + "\n[slo]\nttft_s = 2\ntpot_s = 0.05\n"))
    assert (s.slo_ttft_s, s.slo_tpot_s) == (2.0, 0.05)
    assert s.digest != plain.digest  # a resumed sweep never mixes chunks under other limits
