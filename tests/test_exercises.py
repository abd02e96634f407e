"""The exercise checks: right answers pass, wrong ones fail with a hint, no answer leaks."""

from vgg_lessons.exercises import checked_number, report, same_number


def test_report_prints_verdict_and_returns_it(capsys):
    assert report(True, "look at the stride") is True
    assert "Correct" in capsys.readouterr().out
    assert report(False, "look at the stride") is False
    assert "Hint: look at the stride" in capsys.readouterr().out


def test_same_number_accepts_close_numbers_only():
    assert same_number(196, 196.0)
    assert not same_number(195, 196)
    assert same_number("196", 196)  # a number typed as text still counts
    assert not same_number("a lot", 196)
    assert not same_number(None, 1)
    assert not same_number(True, 1)


def test_checked_number_explains_a_placeholder(capsys):
    assert checked_number(..., "rf") is None
    assert "should be a number" in capsys.readouterr().out
    assert checked_number(3, "rf") == 3.0
