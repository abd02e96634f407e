"""Chapter 9's checks: against answers worked out by hand and hand-made records."""

from __future__ import annotations

from test_grid_records import _record

from vgg_lessons.exercises import chapter9


def test_macs_ratio_against_the_layer_arithmetic(capsys) -> None:
    # width 0.25: stage channels 16, 32, 64, 128, 128 at map sides 32, 16, 8, 4, 2
    def conv(side, cin, cout):
        return side * side * cin * cout * 9
    a = (conv(32, 3, 16) + conv(16, 16, 32) + conv(8, 32, 64) + conv(8, 64, 64)
         + conv(4, 64, 128) + conv(4, 128, 128) + 2 * conv(2, 128, 128) + 128 * 10)
    e = a + conv(32, 16, 16) + conv(16, 32, 32) + 2 * (conv(8, 64, 64) + conv(4, 128, 128)
                                                      + conv(2, 128, 128))
    assert chapter9.check_depth_macs_ratio(e / a)
    assert not chapter9.check_depth_macs_ratio(19 / 11)
    assert "ratio of the layer counts" in capsys.readouterr().out
    assert not chapter9.check_depth_macs_ratio(1.0)
    assert str(round(e / a, 2)) not in capsys.readouterr().out  # no leak


def test_depth_gain_from_records(capsys) -> None:
    records = [_record(11, 0, 0.80), _record(11, 1, 0.82), _record(16, 0, 0.84)]
    assert chapter9.check_depth_gain(3.0, records)
    assert not chapter9.check_depth_gain(0.03, records)
    assert "percentage points" in capsys.readouterr().out
    assert not chapter9.check_depth_gain(-3.0, records)
    assert "not the other way round" in capsys.readouterr().out
    assert not chapter9.check_depth_gain(1.0, records[:2])  # one line, no traceback
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no finished VGG-11 and VGG-16 runs yet" in out


def test_paper_spread_from_start_records(capsys) -> None:
    # the hand-made record's stage spreads halve from stage to stage: 1 to 1/16
    records = [_record(19, 0, 0.1, "start", "paper"), _record(19, 0, 0.4, "start", "glorot")]
    records[1]["signal_at_init"]["activation_std"] = [1.0, 1.0, 1.0, 1.0, 50.0]
    assert chapter9.check_paper_spread(2 / 16, records)  # within a factor of 3
    assert not chapter9.check_paper_spread(4 / 16, records)
    assert "between 2 and 10 times too high" in capsys.readouterr().out
    assert not chapter9.check_paper_spread(16.0, records)
    assert "not the other way round" in capsys.readouterr().out
    assert not chapter9.check_paper_spread(1.0, records[1:])  # one line, no traceback
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no VGG-19 run with the paper's" in out


def test_the_open_exercises_model_answer_costs_about_twice_the_grid() -> None:
    """Exercise 9.4's model answer (2 seeds of A and E at 2x and 4x the epochs) stays
    within "about twice the grid" (3 seeds of every depth), by the committed records'
    multiply-accumulates; kept here, not in the chapter, so the student copy does not
    show the design."""
    from vgg_lessons.train.grid_records import load_records

    macs = {r["arch"]: r["macs_per_image"] for r in load_records(grid="depth")}
    assert sorted(macs) == ["A", "B", "D", "E"]
    extension = 2 * (macs["A"] + macs["E"]) * (2 + 4)
    assert 1.5 < extension / (3 * sum(macs.values())) < 2.5
