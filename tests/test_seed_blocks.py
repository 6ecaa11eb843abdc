"""Adding a seed trains only that seed: the 1D training jobs are blocks of seeds (common.smk,
seed_blocks), each seed's result its own record, so a grown experiment keeps its finished seeds and
its tables equal a fresh run's."""
import pandas as pd
import pytest
import yaml

from conftest import TINY, run_snakemake
from spatialpool.training.checkpoints import load_checkpoint

SD = "results/scale_detection"
TARGET = f"{SD}/collected/task1_relu.csv"
# properties of a block, not of a seed: its size, wall time, the steps idle for all its seeds and
# those whose backward pass ran on some of its seeds only
BLOCK_COLUMNS = ["wall_s", "stacked_seeds", "idle_steps", "subset_steps"]


def _config(tmp_path, name, seeds, block_size=4):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["experiments"] = [e for e in cfg["experiments"] if e["name"] == "task1_relu"]
    cfg["experiments"][0]["seeds"] = seeds
    cfg.update(images=None, parts=["section4"], block_size=block_size)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _train_jobs(out: str) -> list[str]:
    """The blocks a dry run would train, from its job listing."""
    blocks = []
    for chunk in out.split("rule train:")[1:]:
        blocks += [ln.split("block=")[1].split(",")[0].strip() for ln in chunk.splitlines()[:12] if "block=" in ln]
    return blocks


@pytest.mark.workflow
def test_adding_seeds_trains_only_the_new_seeds_and_matches_a_fresh_run(tmp_path):
    grown, fresh = tmp_path / "grown", tmp_path / "fresh"
    two, four = _config(tmp_path, "two", [0, 1]), _config(tmp_path, "four", [0, 1, 2, 3])
    run_snakemake(grown, TARGET, configfile=two)
    first = grown / f"{SD}/train/task1_relu/block0-1.pt"
    stamp = first.stat().st_mtime_ns

    assert _train_jobs(run_snakemake(grown, TARGET, "-n", configfile=four)) == ["2-3"]
    run_snakemake(grown, TARGET, configfile=four)
    assert first.stat().st_mtime_ns == stamp, "a finished block was retrained"
    assert sorted(p.name for p in (grown / f"{SD}/train/task1_relu").glob("block*.pt")) == ["block0-1.pt", "block2-3.pt"]

    run_snakemake(fresh, TARGET, configfile=four)  # block_size 4: one job, seeds 0-3 stacked
    assert [p.name for p in (fresh / f"{SD}/train/task1_relu").glob("block*.pt")] == ["block0-1-2-3.pt"]
    for seed in range(4):
        a = load_checkpoint(grown / f"{SD}/train/task1_relu/block{'0-1' if seed < 2 else '2-3'}.pt", seed)
        b = load_checkpoint(fresh / f"{SD}/train/task1_relu/block0-1-2-3.pt", seed)
        for state, weights in a["states"].items():
            assert (weights is None) == (b["states"][state] is None)
            if weights is not None:
                assert all((weights[k] == b["states"][state][k]).all() for k in weights), (seed, state)
    pd.testing.assert_frame_equal(pd.read_csv(grown / TARGET), pd.read_csv(fresh / TARGET))
    for table in ("summary", "history"):  # training records: the configured seeds, in seed order
        g, f = (pd.read_csv(d / f"{SD}/train/task1_relu/{table}.csv") for d in (grown, fresh))
        pd.testing.assert_frame_equal(g.drop(columns=BLOCK_COLUMNS, errors="ignore"),
                                      f.drop(columns=BLOCK_COLUMNS, errors="ignore"),
                                      rtol=1e-6, atol=1e-6)

    # Removing a seed removes only its rows; no block retrains.
    three = _config(tmp_path, "three", [0, 1, 3])
    assert _train_jobs(run_snakemake(grown, TARGET, "-n", configfile=three)) == []
    run_snakemake(grown, TARGET, configfile=three)
    assert sorted(pd.read_csv(grown / TARGET).seed.unique()) == [0, 1, 3]
