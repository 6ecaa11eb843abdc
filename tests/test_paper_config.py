"""configs/paper.yaml holds the protocol of sections 4.3 and B, and its DAG is the paper's grid."""
import re
import subprocess
import sys

from conftest import entry, ROOT


def test_values_match_sections_4_3_and_b(paper_config):
    t1, t2 = entry(paper_config["tasks"], "task1"), entry(paper_config["tasks"], "task2")
    assert (t1["length"], t1["xi"], t1["gap"], t1["n_train"]) == (32, 11, 4, 48)
    assert (t2["length"], t2["xi"], t2["n_train"]) == (128, 32, 1024)
    e = {x["name"]: x for x in paper_config["experiments"]}
    for name in ("task1_relu", "task1_tanh", "task2_relu"):
        assert e[name]["net"]["width"] == 1000
        tr = e[name]["train"]
        assert tr["batch_size"] == 8 and tr["weight_decay"] == 0.01 and tr["stop"] == "t_star_multiple"
    assert e["task1_relu"]["net"] | {"width": 0} == {"depth": 12, "width": 0, "filter_size": 3, "stride": 1}
    assert e["task2_relu"]["net"] | {"width": 0} == {"depth": 7, "width": 0, "filter_size": 2, "stride": 2}
    assert (e["task1_relu"]["train"]["lr"], e["task1_relu"]["train"]["stop_value"]) == (0.01, 500)
    assert (e["task1_tanh"]["train"]["lr"], e["task1_tanh"]["train"]["stop_value"]) == (0.003, 200)
    assert e["task1_tanh"]["activation"] == "tanh"
    assert len(e["task1_relu"]["seeds"]) == 4 and len(e["task2_relu"]["seeds"]) == 10


def test_paper_dry_run_lists_the_full_grid(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(ROOT / "configs/paper.yaml"), "-n"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    stats = run.stdout.split("Job stats:")[1]
    jobs = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}
    # one stacked training job per experiment (4 + 4 + 10 seeds: block_size 10), one measurement job
    # per training block
    assert jobs["train"] == 3 and jobs["sensitivity"] == 3
    assert "experiment=task2_relu, block=0-1-2-3-4-5-6-7-8-9" in run.stdout
