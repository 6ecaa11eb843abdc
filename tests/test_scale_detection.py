import numpy as np
import pytest

from spatialpool.data.scale_detection import Task, all_pairs, class_counts, deform_sites, make_dataset, render

TASK1 = Task("distance", 32, 11, 4)   # paper sec. 4.3
TASK2 = Task("patches", 128, 32)      # paper sec. 4.3


def test_paper_counts_task1():
    # pairs with periodic distance <= 8 and >= 13 among C(32, 2)
    assert class_counts(TASK1) == (256, 112)


def test_paper_counts_task2():
    # 4 patches of 32 sites: 4 C(32, 2) same-patch pairs out of C(128, 2)
    assert class_counts(TASK2) == (1984, 6144)


def test_task1_labels_follow_periodic_distance():
    r1, r2, y = all_pairs(TASK1)
    d = np.minimum(np.abs(r2 - r1), 32 - np.abs(r2 - r1))
    assert np.all(d[y == 1] <= 8) and np.all(d[y == -1] >= 13)
    assert not np.any((d > 8) & (d < 13) & (y != 0))  # the gap is dropped
    assert TASK1.label(0, 31) == 1  # wraps around: distance 1


def test_task2_labels_are_same_patch():
    r1, r2, y = all_pairs(TASK2)
    np.testing.assert_array_equal(y == 1, r1 // 32 == r2 // 32)


def test_render_norm_is_length():
    x = render(TASK1, np.array([0, 5]), np.array([3, 20]))
    np.testing.assert_allclose((x ** 2).sum(-1).ravel(), 32.0)
    assert x.shape == (2, 1, 32)


def test_dataset_is_balanced_seeded_and_disjoint():
    a, b, c = make_dataset(TASK1, 48, 0), make_dataset(TASK1, 48, 0), make_dataset(TASK1, 48, 1)
    np.testing.assert_array_equal(a["train_sites"], b["train_sites"])
    assert not np.array_equal(a["train_sites"], c["train_sites"])
    assert len(a["train_y"]) + len(a["test_y"]) == 2 * 112
    assert (np.concatenate([a["train_y"], a["test_y"]]) == 1).sum() == 112
    train = {tuple(s) for s in a["train_sites"]}
    assert not train & {tuple(s) for s in a["test_sites"]}


def test_dataset_rejects_too_many_training_points():
    with pytest.raises(ValueError, match="no test data"):
        make_dataset(TASK1, 224, 0)


def test_gap_larger_than_scale_is_rejected():
    with pytest.raises(ValueError, match="larger than the scale"):
        Task("distance", 32, 3, 4)


@pytest.mark.parametrize("task", [TASK1, TASK2])
def test_deformations_move_pixels_by_one_and_keep_labels(task):
    r1, r2, y = all_pairs(task)
    sites = np.stack([r1, r2], 1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        moved = deform_sites(task, sites, rng)
        step = np.abs(moved - sites)
        step = np.minimum(step, task.length - step) if task.periodic else step
        assert np.all(step <= 1)
        d = task.distance(moved[:, 0], moved[:, 1])
        if task.kind == "distance":
            # the gap g/2 = 2 absorbs two 1-pixel moves: the side of xi never changes
            assert np.all(d[y == 1] < task.xi) and np.all(d[y == -1] >= task.xi)
        else:
            np.testing.assert_array_equal(task.label(moved[:, 0], moved[:, 1]), y)


def test_task1_deformation_moves_every_pixel():
    sites = np.array([[0, 31], [5, 10]])
    moved = deform_sites(TASK1, sites, np.random.default_rng(0))
    assert np.all(moved != sites) and np.all((moved >= 0) & (moved < 32))
