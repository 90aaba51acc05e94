"""Progress: a live bar on a terminal, one plain line per step elsewhere."""

from zoo.progress import progress


def test_plain_lines_when_not_on_a_terminal(capsys):
    with progress("pretrain simple_cnn on mini", 2) as bar:
        bar.update(1, "loss 1.000")
        bar.update(2, "loss 0.500")
    assert capsys.readouterr().err.splitlines() == [
        "pretrain simple_cnn on mini: 1/2 loss 1.000",
        "pretrain simple_cnn on mini: 2/2 loss 0.500",
    ]


def test_a_bar_on_a_terminal_goes_to_stderr(capsys):
    with progress("pretrain", 3, interactive=True) as bar:
        for step in range(1, 4):
            bar.update(step, f"loss {1 / step:.3f}")
    out, err = capsys.readouterr()
    assert out == "", "stdout is kept for results (--json)"
    assert "pretrain" in err and "3/3" in err and "loss 0.333" in err


def test_epochs_within_a_step_show_on_a_terminal_only(capsys):
    with progress("bench mini", 2) as bar:
        bar.inner("  resnet18/full/digits_small/seed0", 3, 20)
        bar.update(1, "cell done")
    assert capsys.readouterr().err.splitlines() == ["bench mini: 1/2 cell done"]

    with progress("bench mini", 2, interactive=True) as bar:
        bar.inner("  simple_cnn/full/q1/seed0", 7, 20)
        bar.inner("  simple_cnn/full/q1/seed0", 20, 20)
        bar.update(1, "cell done")
    err = capsys.readouterr().err
    assert "simple_cnn/full/q1/seed0" in err and "20/20" in err and "1/2" in err
