import io

from salt_p2pdist.core.progress import bar, board_lines, duration, size
from salt_p2pdist.master.terminal import Painter


def view(state="active", eta=90, minions=None):
    minions = minions or {
        "m1": {"state": "seeding", "bytes_done": 0, "site": "paris"},
        "m2": {"state": "downloading", "bytes_done": 50, "site": "paris"},
        "m3": {"state": "downloading", "bytes_done": 0, "site": "lyon"},
    }
    return {"distribution": {"id": "ab12", "name": "app.tar", "state": state, "bytes": 100,
                             "targets": len(minions), "done": 1, "failed": 0, "pending": 0,
                             "stale": 0, "throughput": 3 << 20, "eta_s": eta},
            "minions": minions}


def test_bar_and_units():
    assert bar(0, 0, 4) == "[....]" and bar(5, 10, 4) == "[##..]" and bar(20, 10, 4) == "[####]"
    assert size(300) == "300 B" and size(3 << 20) == "3.0 MiB" and size(1.5 * 2**30) == "1.5 GiB"
    assert duration(None) == "?" and duration(45) == "45 s" and duration(200) == "3 min 20 s"
    assert duration(7500) == "2 h 05 min"


def test_board_has_a_bar_for_all_and_one_per_site():
    lines = board_lines(view())
    assert lines[0] == "app.tar (ab12): active, eta 1 min 30 s"
    assert lines[1].startswith("  all ") and "1/3 done" in lines[1] and "3.0 MiB/s" in lines[1]
    # a complete host counts in full whatever bytes_done says; m2 is half way
    assert "[" + "#" * 15 + "." * 15 + "]" in lines[1]
    assert lines[2].startswith("  lyon ") and "0/1 done" in lines[2]
    assert lines[3].startswith("  paris ") and "1/2 done" in lines[3]
    assert "None" not in "\n".join(lines)


def test_a_settled_board_shows_no_eta_and_unknown_eta_is_a_question_mark():
    assert board_lines(view(state="complete", eta=None))[0] == "app.tar (ab12): complete"
    assert board_lines(view(eta=None))[0].endswith("eta ?")


def test_plain_stream_gets_lines_not_redraws_and_not_every_tick():
    out = io.StringIO()
    p = Painter(out, plain_every=3600)
    p.draw(["a: active", "x"])
    p.draw(["a: active", "y"])  # same head, too soon: skipped
    p.draw(["a: complete", "z"], final=True)
    assert out.getvalue() == "a: active\nx\na: complete\nz\n"


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_terminal_is_redrawn_in_place():
    out = Tty()
    p = Painter(out)
    p.draw(["one", "two"])
    p.draw(["three", "four"])
    assert out.getvalue() == "\x1b[2Kone\n\x1b[2Ktwo\n\x1b[2F\x1b[2Kthree\n\x1b[2Kfour\n"


def test_a_note_replaces_the_waiting_line_on_a_terminal():
    out = Tty()
    p = Painter(out)
    p.draw(["3/4 answered"])
    p.note("no answer from m4")
    p.draw(["board"])
    assert out.getvalue() == "\x1b[2K3/4 answered\n\x1b[1F\x1b[Jno answer from m4\n\x1b[2Kboard\n"
