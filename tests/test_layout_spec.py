"""Layouts as data: validation names the file and the panel, JSON round trips, type scale rule."""

from __future__ import annotations

import base64
import json

import pytest

from opscenter.layout_spec import (
    BRIEFING, CHARTS, DEPLOYMENT, DETAILS, MAP, PANELS, QUEUE, Layout, LayoutError, WindowSpec,
    builtin_layouts, font_scale_for, from_dict, load_layout, save_layout, saved_layouts, to_dict,
    validate,
)


def sample() -> Layout:
    return Layout("ops-2", [
        WindowSpec(0, [MAP, BRIEFING], fullscreen=True, geometry=(0, 0, 1920, 1080),
                   dock_state=base64.b64encode(b"\x00\xff state").decode()),
        WindowSpec(1, [QUEUE, DEPLOYMENT], geometry=(1920, 10, 1200, 900)),
    ], font_scale=1.25, distance_m=4.5)


def test_panel_names_are_the_walls_six() -> None:
    assert PANELS == ("map", "queue", "deployment", "details", "charts", "briefing")


def test_json_round_trip_keeps_everything(tmp_path) -> None:
    layout = sample()
    path = save_layout(layout, tmp_path)
    assert path == tmp_path / "ops-2.json"
    json.loads(path.read_text())  # plain JSON on disk
    assert load_layout("ops-2", tmp_path) == layout
    assert from_dict(json.loads(json.dumps(to_dict(layout)))) == layout
    assert saved_layouts(tmp_path) == ["ops-2"]


def test_unknown_panel_is_refused_naming_file_and_panel(tmp_path) -> None:
    data = to_dict(sample())
    data["windows"][1]["panels"].append("mapp")
    path = tmp_path / "ops-2.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LayoutError) as caught:
        load_layout("ops-2", tmp_path)
    message = str(caught.value)
    assert str(path) in message and "'mapp'" in message and "window 2" in message


def test_a_panel_may_be_in_only_one_window() -> None:
    layout = Layout("dup", [WindowSpec(0, [MAP, QUEUE]), WindowSpec(1, [QUEUE])])
    with pytest.raises(LayoutError, match="'queue' is already in window 1"):
        validate(layout, "dup.json")


@pytest.mark.parametrize("bad", ["../etc/passwd", "a b", "", "x.json", "é"])
def test_names_are_plain_file_names(tmp_path, bad) -> None:
    with pytest.raises(LayoutError):
        save_layout(Layout(bad, [WindowSpec(0, [MAP])]), tmp_path)
    with pytest.raises(LayoutError):
        load_layout(bad, tmp_path)


@pytest.mark.parametrize("change, fragment", [
    (lambda d: d["windows"].clear(), "no windows"),
    (lambda d: d["windows"][0].update(screen=-1), "screen"),
    (lambda d: d["windows"][0].update(panels=[]), "no panels"),
    (lambda d: d["windows"][0].update(geometry=[0, 0, 0, 10]), "positive"),
    (lambda d: d["windows"][0].update(geometry=[0, 0, 10]), "four whole numbers"),
    (lambda d: d["windows"][0].update(dock_state="not base64!"), "base64"),
    (lambda d: d.update(font_scale=9), "font_scale"),
    (lambda d: d.update(distance_m=-2), "distance_m"),
])
def test_validation_refusals(change, fragment) -> None:
    data = to_dict(sample())
    change(data)
    with pytest.raises(LayoutError, match=fragment) as caught:
        from_dict(data, "var/layouts/ops-2.json")
    assert str(caught.value).startswith("var/layouts/ops-2.json")


def test_builtins_load_without_files_and_a_file_overrides_them(tmp_path) -> None:
    wall = load_layout("wall", tmp_path)
    assert [w.panels for w in wall.windows] == [list(PANELS)]
    two = load_layout("two-screen", tmp_path)
    assert [(w.screen, w.panels) for w in two.windows] == [(0, [MAP]), (1, [QUEUE, DEPLOYMENT, DETAILS])]
    for layout in builtin_layouts().values():
        validate(layout)
    save_layout(Layout("wall", [WindowSpec(0, [MAP, CHARTS])]), tmp_path)
    assert load_layout("wall", tmp_path).windows[0].panels == [MAP, CHARTS]
    with pytest.raises(LayoutError, match="no such layout; known: two-screen, wall"):
        load_layout("nope", tmp_path)


def test_broken_json_names_the_file(tmp_path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(LayoutError, match=r"x\.json: cannot read"):
        load_layout("x", tmp_path)


def test_panel_window_lookup() -> None:
    layout = sample()
    assert layout.panel_window(QUEUE) == 1 and layout.panel_window(MAP) == 0
    assert layout.panel_window(DETAILS) is None


# --- type scale ----------------------------------------------------------------------------

TV_55 = (1080, 685.0)  # a 55-inch 16:9 1080p panel


def test_cap_height_rule_on_a_55_inch_panel() -> None:
    # 3 m needs 15 mm capitals; at scale 1 they are 17 px * 0.7 * 0.634 mm = 7.5 mm.
    assert font_scale_for(*TV_55, 3.0) == pytest.approx(2.0, abs=0.02)


def test_scale_grows_with_distance_and_is_clamped() -> None:
    distances = [0.5, 1, 1.5, 2, 2.5, 3, 4, 6, 10]
    scales = [font_scale_for(*TV_55, d) for d in distances]
    assert scales == sorted(scales)
    assert scales[0] == 0.8 and scales[-1] == 3.0
    assert len(set(scales)) > 4  # not flat in between


def test_a_finer_screen_needs_a_bigger_scale() -> None:
    assert font_scale_for(2160, 685.0, 2.0) > font_scale_for(1080, 685.0, 2.0)


def test_unknown_or_implausible_size_keeps_the_share_of_the_screen() -> None:
    assert font_scale_for(1080, None, 3.0) == 1.0
    assert font_scale_for(2160, None, None) == 2.0
    assert font_scale_for(2160, 9.0, 5.0) == 2.0  # a TV reporting only its aspect ratio
    assert font_scale_for(720, None, None) == 0.8
    assert font_scale_for(0, None, None) == 1.0


def test_layout_scale_multiplies_and_clamps() -> None:
    layout = Layout("x", [WindowSpec(0, [MAP])], font_scale=2.0, distance_m=3.0)
    assert layout.scale_for(*TV_55) == 3.0
    layout.font_scale = 1.0
    assert layout.scale_for(*TV_55) == pytest.approx(2.0, abs=0.02)
