"""A choice in the layer map moves the Explorer to that layer (AppTest), each time: the browser sends the
state {selected, choice} with a new choice per click, so a click on the layer the map's state already holds
(chosen there before another control moved the page away) is news to the server too."""
from __future__ import annotations

from tests.apptest_tools import rerun, send_component

EXPLORER = "pages/1_Explorer.py"


def test_choosing_again_the_layer_the_map_last_sent_selects_it(app_test):
    at = app_test(EXPLORER)
    send_component(at, "layer_map", state={"selected": 3, "choice": 1})
    assert at.session_state.layer_id == 3
    other = at.selectbox(key="layer_select").options[5]
    rerun(at.selectbox(key="layer_select").select(other))
    assert at.session_state.layer_id == 5
    send_component(at, "layer_map", state={"selected": 3, "choice": 2})
    assert at.session_state.layer_id == 3

