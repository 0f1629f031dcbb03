import numpy as np
import pytest

from nascar_pipeline.cli import main
from nascar_pipeline.core import rules


def test_published_draftkings_anchors():
    assert rules.draftkings_points(19, 1, 5, 2) == pytest.approx(65.15)
    assert rules.draftkings_points(11, 1, 323, 100) == pytest.approx(180.75)


@pytest.mark.parametrize(
    "finish,dk,fd",
    [
        (1, 45, 43),
        (2, 42, 40),
        (3, 41, 38),
        (4, 40, 37),
        (10, 34, 31),
        (11, 32, 30),
        (20, 23, 21),
        (21, 21, 20),
        (30, 12, 11),
        (31, 10, 10),
        (40, 1, 1),
        (41, 0, 0),
        (43, 0, 0),
    ],
)
def test_finish_tables(finish, dk, fd):
    assert rules.dk_finish_points(finish) == dk
    assert rules.fd_finish_points(finish) == fd


def test_place_differential_can_be_negative():
    # Start 1, finish 20: 23 finish points - 19 places lost.
    assert rules.draftkings_points(1, 20, 0, 0) == pytest.approx(4.0)
    assert rules.fanduel_points(1, 20, 0, 0) == pytest.approx(21 - 9.5)


def test_fanduel_laps_and_no_fastest_lap_points():
    pts = rules.site_points("fanduel", 5, 3, laps_led=10, fastest_laps=99, laps_completed=200)
    assert pts == pytest.approx(38 + 1 + 20 + 1)


def test_vectorized_over_scenarios_by_drivers():
    rng = np.random.default_rng(0)
    finish = np.stack([rng.permutation(36) + 1 for _ in range(50)])
    start = np.tile(np.arange(1, 37), (50, 1))
    led = rng.integers(0, 50, size=finish.shape)
    fl = rng.integers(0, 20, size=finish.shape)
    pts = rules.draftkings_points(start, finish, led, fl)
    assert pts.shape == (50, 36)
    i, j = 7, 11
    assert pts[i, j] == pytest.approx(
        float(rules.draftkings_points(start[i, j], finish[i, j], led[i, j], fl[i, j]))
    )


def test_rejects_zero_positions():
    with pytest.raises(ValueError):
        rules.draftkings_points(0, 1, 0, 0)


def test_unknown_site():
    with pytest.raises(ValueError, match="unknown DFS site"):
        rules.get_site("yahoo")


def test_cli_score(capsys):
    assert (
        main(
            [
                "score",
                "--site",
                "draftkings",
                "--start",
                "19",
                "--finish",
                "1",
                "--laps-led",
                "5",
                "--fastest-laps",
                "2",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == "65.15"
    assert (
        main(
            [
                "score",
                "--start",
                "11",
                "--finish",
                "1",
                "--laps-led",
                "323",
                "--fastest-laps",
                "100",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == "180.75"
    assert main(["score", "--start", "0", "--finish", "1"]) == 2
