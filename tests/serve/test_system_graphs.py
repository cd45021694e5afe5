"""Request-graph validation: acyclic graphs of known stage kinds on declared pools pass and come out
in dependency order; a cycle, an unknown stage, kind, pool or model is one CoscaleError line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.serve.system.reader import parse_scenario
from coscale.serve.system.spec import STAGE_KINDS, GraphSpec, PoolSpec, StageSpec
from coscale.serve.system.validate import topological_order, validate

POOLS = (PoolSpec(name="llm", model="llama-3.1-8b"), PoolSpec(name="emb", model="bge-large-en-v1.5"))


def _stage(i: int, deps: tuple[int, ...], kind: str = "generate") -> StageSpec:
    return StageSpec(name=f"s{i}", kind=kind, after=tuple(f"s{d}" for d in deps),
                     pool=None if kind == "delay" else "llm")


@st.composite
def dags(draw: st.DrawFn) -> GraphSpec:
    """Random DAGs: stage i depends on a subset of earlier stages, listed in a shuffled order."""
    n = draw(st.integers(1, 9))
    deps = [tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=i)))) if i else () for i in range(n)]
    kinds = [draw(st.sampled_from(("generate", "delay", "encode", "agent"))) for _ in range(n)]
    order = draw(st.permutations(range(n)))
    return GraphSpec(name="g", share=1.0, stages=tuple(_stage(i, deps[i], kinds[i]) for i in order))


@settings(max_examples=80, deadline=None)
@given(dags())
def test_acyclic_graphs_validate_and_order_respects_dependencies(g: GraphSpec) -> None:
    where = validate(POOLS, (g,))
    order = topological_order(g)
    assert sorted(order) == list(range(len(g.stages)))  # every stage exactly once
    position = {g.stages[i].name: k for k, i in enumerate(order)}
    for s in g.stages:
        assert all(position[d] < position[s.name] for d in s.after)
        assert where[("g", s.name)] == (None if s.kind == "delay" else "llm")


@settings(max_examples=80, deadline=None)
@given(dags(), st.data())
def test_any_back_edge_is_a_cycle(g: GraphSpec, data: st.DataObject) -> None:
    """Make an ancestor depend on one of its descendants (or a stage on itself): always refused."""
    order = topological_order(g)
    lo = data.draw(st.integers(0, len(order) - 1))
    hi = data.draw(st.integers(lo, len(order) - 1))
    # a transitive dependency of `child` (or `child` itself) is made to depend on `child`
    names = [s.name for s in g.stages]
    deps = {s.name: set(s.after) for s in g.stages}

    def ancestors(x: str) -> set[str]:
        seen: set[str] = set()
        todo = [x]
        while todo:
            for d in deps[todo.pop()]:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    child = names[order[hi]]
    pool = [*sorted(ancestors(child)), child]  # a self-loop when the child has no ancestors
    parent = data.draw(st.sampled_from(pool))
    stages = tuple(StageSpec(name=s.name, kind=s.kind, after=s.after + ((child,) if s.name == parent else ()),
                             pool=s.pool) for s in g.stages)
    with pytest.raises(CoscaleError, match="cycle"):
        validate(POOLS, (GraphSpec(name="g", share=1.0, stages=stages),))


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda k: k not in STAGE_KINDS))
def test_unknown_kind_is_refused(kind: str) -> None:
    g = GraphSpec(name="g", share=1.0, stages=(StageSpec(name="a", kind=kind, after=(), pool="llm"),))
    with pytest.raises(CoscaleError, match="unknown kind") as e:
        validate(POOLS, (g,))
    assert "\n" not in str(e.value)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda p: p not in ("llm", "emb")))
def test_undeclared_pool_or_unserved_model_is_refused(name: str) -> None:
    by_pool = GraphSpec(name="g", share=1.0, stages=(StageSpec(name="a", kind="generate", after=(), pool=name),))
    with pytest.raises(CoscaleError, match="no \\[pools") as e:
        validate(POOLS, (by_pool,))
    assert "\n" not in str(e.value)
    by_model = GraphSpec(name="g", share=1.0, stages=(StageSpec(name="a", kind="generate", after=(), model=name),))
    with pytest.raises(CoscaleError, match="no pool serves") as e:
        validate(POOLS, (by_model,))
    assert "\n" not in str(e.value)


def test_model_resolves_to_its_pool_and_unknown_dependency_is_named() -> None:
    a = StageSpec(name="a", kind="encode", after=(), model="bge-large-en-v1.5")
    g = GraphSpec(name="g", share=1.0, stages=(a,))
    assert validate(POOLS, (g,)) == {("g", "a"): "emb"}
    bad = GraphSpec(name="g", share=1.0, stages=(StageSpec(name="a", kind="generate", after=("zz",), pool="llm"),))
    with pytest.raises(CoscaleError, match="'zz', which is not a stage"):
        validate(POOLS, (bad,))


def test_reader_defaults_to_a_chain_and_checks_keys() -> None:
    data = {"pools": {"llm": {"model": "llama-3.1-8b"}},
            "graphs": [{"name": "g", "stages": [{"name": "a", "kind": "generate", "pool": "llm"},
                                                {"name": "b", "kind": "delay", "seconds": 0.1},
                                                {"name": "c", "kind": "generate", "pool": "llm", "after": []}]}]}
    sc = parse_scenario(data, "x")
    assert [s.after for s in sc.graphs[0].stages] == [(), ("a",), ()]
    data["pools"]["llm"]["tpp"] = 2
    with pytest.raises(CoscaleError, match="did you mean 'tp'"):
        parse_scenario(data, "x")


def test_a_stage_naming_a_pool_and_another_model_is_refused() -> None:
    """`pool` and `model` must agree: the pool's model would run, silently, instead of the one named."""
    agree = StageSpec(name="a", kind="encode", after=(), pool="emb", model="bge-large-en-v1.5")
    assert validate(POOLS, (GraphSpec(name="g", share=1.0, stages=(agree,)),)) == {("g", "a"): "emb"}
    clash = StageSpec(name="a", kind="generate", after=(), pool="llm", model="bge-large-en-v1.5")
    with pytest.raises(CoscaleError, match="runs on pool 'llm', which serves") as e:
        validate(POOLS, (GraphSpec(name="g", share=1.0, stages=(clash,)),))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("fanout", 10**6, "fanout = 1,000,000 is more than"), ("turns", 10**6, "turns = 1,000,000 is more than"),
    ("length_sigma", 40.0, "length_sigma = 40 is more than 3")])
def test_stage_counts_are_bounded(key: str, value: int, match: str) -> None:
    s = StageSpec(name="a", kind="encode" if key == "fanout" else "agent", after=(), pool="emb", **{key: value})
    with pytest.raises(CoscaleError, match=match):
        validate(POOLS, (GraphSpec(name="g", share=1.0, stages=(s,)),))


def test_length_sigma_up_to_the_bound_is_accepted() -> None:
    s = StageSpec(name="a", kind="agent", after=(), pool="emb", length_sigma=3.0)
    validate(POOLS, (GraphSpec(name="g", share=1.0, stages=(s,)),))


def test_reader_refuses_non_finite_numbers() -> None:
    data = {"pools": {"llm": {"model": "llama-3.1-8b", "host_overhead_s": float("inf")}},
            "graphs": [{"name": "g", "stages": [{"name": "a", "kind": "generate", "pool": "llm"}]}]}
    with pytest.raises(CoscaleError, match="host_overhead_s must be a finite number"):
        parse_scenario(data, "x")


def test_reader_refuses_output_tokens_on_an_encoder_pass() -> None:
    data = {"pools": {"emb": {"model": "bge-large-en-v1.5"}},
            "graphs": [{"name": "g", "stages": [{"name": "a", "kind": "encode", "pool": "emb", "output_tokens": 9}]}]}
    with pytest.raises(CoscaleError, match="generates no tokens"):
        parse_scenario(data, "x")
    del data["graphs"][0]["stages"][0]["output_tokens"]
    assert parse_scenario(data, "x").graphs[0].stages[0].kind == "encode"
