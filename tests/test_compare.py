"""What the Compare page measures (vae/compare.py), its figures (ui/compare.py) and its measured
sentences (ui/lessons.py), on small models built here."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from ui import compare as ui_compare
from ui import lessons
from vae import compare
from vae.config import preset
from vae.model import ConditionalVAE
from vae.run import RunView


def model(**changes) -> ConditionalVAE:
    torch.manual_seed(0)
    config = preset("tiny").replace(**changes)
    return ConditionalVAE(config).eval()


def entry(choice: str, m: ConditionalVAE, scores: dict | None, epochs: list[dict] | None = None, colour="#000"):
    run = RunView(m.config, m, choice, choice, epoch=len(epochs or []), epoch_metrics=tuple(epochs or ()),
                  dataset={"name": "mnist"})  # fmt: skip
    return ui_compare.Entry(choice, choice, colour, run, scores)


def values(data: object) -> np.ndarray:
    """A figure's array as plotly sends it (numpy arrays go base64-encoded)."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data)


# --- vae/compare.py ---------------------------------------------------------------------------


def test_scores_add_up_and_a_dimension_the_encoder_ignores_counts_as_unused(mnist):
    m = model(z_dim=4)
    with torch.no_grad():  # dimensions 2 and 3: mu = 0 and var = 1 for every image, the prior itself
        m.mu_head.weight[2:] = 0
        m.mu_head.bias[2:] = 0
        m.var_head.weight[2:] = 0
        m.var_head.bias[2:] = 0
        m.mu_head.weight[:2] *= 50  # and dimensions 0 and 1 clearly used
    x, y = compare.test_sample(mnist)
    s = compare.scores(m, x, y)
    assert len(x) == len(s["mu"]) == 1000 and s["mu"].shape[1] == 4
    assert s["kl_dims"][2:] == pytest.approx([0, 0], abs=1e-4)  # exp(0) + 1e-5: KL of about 1e-5
    assert s["collapsed"] == 2 and (s["kl_dims"][:2] > compare.COLLAPSED).all()
    assert s["kl_dims"].sum() == pytest.approx(s["kl"], rel=1e-4)  # the closed form both ways
    assert s["elbo"] == pytest.approx(-(s["recon"] + s["kl"]))
    assert s["conditional"] is None  # no judges given
    again = compare.scores(m, x, y)  # seeded: the same numbers again
    assert (again["iwae"], again["elbo"]) == (s["iwae"], s["elbo"])


def test_a_plain_vae_has_no_accuracy_and_no_conditional_score(mnist):
    x, y = compare.test_sample(mnist)
    s = compare.scores(model(classification_weight=0.0), x, y, judges={"cnn": torch.nn.Identity()})
    assert s["acc"] is None and s["conditional"] is None


def test_the_same_z_reaches_every_model_and_a_smaller_z_dim_reads_its_first_numbers():
    small, large = model(z_dim=2), model(z_dim=5)
    z = compare.shared_z([2, 5], 6, seed=3)
    assert z.shape == (6, 5) and torch.equal(z, compare.shared_z([5, 2], 6, seed=3))
    assert not torch.equal(z, compare.shared_z([2, 5], 6, seed=4))
    from vae.model import one_hot

    with torch.no_grad():
        expected = small.decode(z[:, :2], one_hot([7] * 6)).numpy()
    assert np.array_equal(compare.same_z_images(small, z, 7), expected)
    assert compare.same_z_images(large, z, 7).shape == (6, 784)
    plain = model(classification_weight=0.0)
    with torch.no_grad():
        assert np.array_equal(compare.same_z_images(plain, z, 7), plain.decode(z[:, :2]).numpy())


def test_a_map_keeps_z_units_and_says_how_much_of_the_spread_it_shows():
    rng = np.random.default_rng(0)
    mu2 = rng.normal(size=(200, 2)).astype(np.float32)
    xy, axes, share = compare.latent_map(mu2)
    assert axes == "z" and share == 1.0 and np.array_equal(xy, mu2)  # z_dim 2: nothing projected
    mu = rng.normal(size=(200, 6)).astype(np.float32) * np.array([5, 3, 0.1, 0.1, 0.1, 0.1], np.float32)
    xy, axes, share = compare.latent_map(mu)
    assert axes == "PC" and 0.99 < share <= 1.0  # nearly all the spread is in two directions
    assert xy[:, 0].std() == pytest.approx(5, rel=0.15)  # PCA rotates, never rescales


def test_variation_is_zero_for_identical_images_and_grows_with_their_differences():
    same = np.tile(np.linspace(0, 1, 784), (6, 1))
    assert compare.variation(same) == pytest.approx(0, abs=1e-12)
    noisy = same + np.random.default_rng(0).normal(0, 0.1, same.shape)
    assert compare.variation(noisy) > compare.variation(same + np.random.default_rng(0).normal(0, 0.01, same.shape))


# --- ui/compare.py figures ------------------------------------------------------------------------


def epochs(n: int, kl: float, judged: bool) -> list[dict]:
    out = []
    for e in range(1, n + 1):
        m = {"epoch": e, "test_recon": 300 - e, "test_kl": kl, "test_acc": 0.5 + e / (4 * n), "test_loss": 1.0}
        if judged:
            m["judged_acc"] = 0.1 * e / n
        out.append(m)
    return out


def three(mnist) -> list:
    x, y = compare.test_sample(mnist)
    items = []
    for i, (beta, n, judged) in enumerate(((0.2, 5, True), (1.0, 8, False), (4.0, 3, True))):
        m = model(beta=beta, z_dim=3)
        items.append(entry(f"m{i}", m, compare.scores(m, x, y), epochs(n, 1 + i, judged), ui_compare.MODEL_COLOURS[i]))
    return items


def test_the_curves_overlay_every_model_on_shared_epoch_axes_in_its_colour(mnist):
    items = three(mnist)
    fig = ui_compare.curves_figure(items).to_dict()
    by_axis: dict[str, list] = {}
    for t in fig["data"]:
        by_axis.setdefault(t["xaxis"], []).append(t)
    assert sorted(by_axis) == ["x", "x2", "x3", "x4"]
    for axis in ("x", "x2", "x3"):  # test loss, reconstruction, KL: one line per model
        assert [t["name"] for t in by_axis[axis]] == ["m0", "m1", "m2"]
        assert [t["line"]["color"] for t in by_axis[axis]] == list(ui_compare.MODEL_COLOURS[:3])
        assert fig["layout"][f"xaxis{axis[1:]}"]["range"] == [0, 9]  # the longest run, for all
    acc = by_axis["x4"]  # the classifier of each, the judged accuracy of the two that recorded it
    assert [(t["name"], t["line"]["dash"]) for t in acc] == [("m0", "solid"), ("m0", "dot"), ("m1", "solid"),
                                                             ("m2", "solid"), ("m2", "dot")]  # fmt: skip
    loss = values(by_axis["x"][2]["y"])  # recon + beta * KL, beta 4, KL 3
    assert loss[0] == pytest.approx(299 + 4 * 3)


def test_the_kl_bars_show_each_models_dimensions_and_the_maps_share_one_scale(mnist):
    items = three(mnist)
    bars = ui_compare.kl_figure(items).to_dict()["data"]
    assert [b["name"] for b in bars] == ["m0", "m1", "m2"]
    assert np.allclose(values(bars[1]["y"]), items[1].scores["kl_dims"], atol=1e-6)
    layout = ui_compare.maps_figure(items).to_dict()["layout"]
    ranges = {tuple(layout[k]["range"]) for k in layout if k.startswith(("xaxis", "yaxis"))}
    assert len(ranges) == 1  # one scale for every panel
    reach = max(np.abs(compare.latent_map(e.scores["mu"])[0]).max() for e in items)
    assert ranges.pop()[1] >= reach  # nobody's points are cut off
    assert ">9</span>" in layout["annotations"][-1]["text"] and "hover" not in layout["annotations"][-1]["text"]


def test_the_maps_colour_key_names_classes_only_where_they_fit_and_hold_for_every_model():
    assert ui_compare._key_names({"mnist"}) == (tuple("0123456789"), "")
    fashion, hint = ui_compare._key_names({"fashion-mnist"})  # "T-shirt/top" ... would be cut at 1024 px
    assert fashion == tuple("0123456789") and "hover" in hint
    assert ui_compare._key_names({"mnist", "fashion-mnist"})[0] == tuple("0123456789")


def test_the_same_z_picture_has_one_row_per_model(mnist):
    items = three(mnist)
    rows = ui_compare.same_z_rows(items, digit=3, seed=0)
    assert [r.shape for r in rows] == [(ui_compare.N_STYLES, 784)] * 3
    two = Image.open(io.BytesIO(ui_compare.same_z_png(items[:2], rows[:2])))
    picture = Image.open(io.BytesIO(ui_compare.same_z_png(items, rows)))
    assert picture.width == two.width and picture.height == 3 * two.height // 2


def test_the_table_has_a_row_per_model_escapes_names_and_prints_notes(mnist):
    items = three(mnist)
    items[1] = ui_compare.Entry("x", "<b>sneaky</b>", "#123456", items[1].run, None, "no data")
    table = ui_compare.table_html(items, ["a note"])
    assert table.count("<tr>") == 1 + 3 + 1  # header, models, note
    assert "&lt;b&gt;sneaky&lt;/b&gt;" in table and "<b>sneaky" not in table
    assert f"{items[0].scores['kl']:.2f}" in table and "a note" in table


def test_notes_name_what_differs_and_nothing_for_alike_models():
    tiny = RunView(preset("tiny"), model(), "a", "a", dataset={"name": "mnist"})

    def e(name, **changes):
        m = model(**changes)
        return ui_compare.Entry(name, name, "#000", tiny.but(config=m.config, model=m), None)

    assert ui_compare.notes([e("a"), e("b")]) == []
    mixed = ui_compare.notes([e("a"), e("wide", z_dim=6), e("plain", classification_weight=0.0)])
    assert any("z_dim differs (2, 6)" in n for n in mixed)
    assert any("“plain” has no classifier" in n for n in mixed)
    fashion = e("f").run.but(dataset={"name": "fashion-mnist"})
    other = ui_compare.notes([e("a"), ui_compare.Entry("f", "f", "#000", fashion, None)], digit=3)
    assert any("different data (fashion-mnist, mnist)" in n for n in other)
    assert any("likelihoods differ" in n for n in ui_compare.notes([e("a"), e("b", likelihood="bernoulli")]))


# --- ui/lessons.py: the sentences read the models ------------------------------------------------


def fake(choice: str, beta: float = 1.0, kl: float = 5.0, recon: float = 240.0, collapsed: int = 0, **more):
    m = model(beta=beta, z_dim=more.pop("z_dim", 10), **more)
    scores = {"kl": kl, "recon": recon, "elbo": -(kl + recon), "collapsed": collapsed, "acc": 0.9,
              "conditional": 0.5, "mu": np.random.default_rng(0).normal(size=(50, m.config.z_dim))}  # fmt: skip
    return entry(ui_compare.KIT_PREFIX + choice, m, scores)


def test_the_beta_answer_quotes_the_models_numbers():
    items = [fake("beta-0.2", 0.2, kl=21.5, recon=222), fake("beta-1", 1.0, kl=8.0), fake("beta-4", 4.0, kl=0.7,
             recon=247, collapsed=9)]  # fmt: skip
    rows = [np.random.default_rng(i).random((6, 784)) * s for i, s in enumerate((1.0, 0.6, 0.25))]
    text = lessons.explain("beta", items, rows, digit=3)
    assert text.startswith("**What does β do?**")
    for quoted in ("0.7 nats", "β 0.2: 21.5", "9 of its 10", "247 nats", "against 222", "six 3s vary"):
        assert quoted in text, (quoted, text)
    assert "Asked for any digit, it draws the one asked for 50% of the time (β 0.2: 50%)" in text
    items[2].scores["kl"] = 1.9  # another model, another sentence: nothing is written down in advance
    items[2].scores["conditional"] = None  # no judges on this server: the sentence leaves that out
    text = lessons.explain("beta", items, rows, digit=3)
    assert "1.9 nats" in text and "asked for" not in text and "It reconstructs worse" in text


def test_a_question_whose_models_are_not_all_on_show_falls_back_to_a_measured_comparison():
    items = [fake("beta-0.2", 0.2, kl=21.5, recon=222), fake("beta-4", 4.0, kl=0.7, recon=247)]
    rows = [np.zeros((6, 784))] * 2
    text = lessons.explain("beta", items, rows, digit=0)
    assert "What does β do?" not in text and "0.7" in text and "21.5" in text


def test_models_of_different_data_are_not_ranked_against_each_other():
    """Each is scored on its own test images: the sentence names no model as fitting best."""
    digits_model, fashion_model = fake("a", kl=5.0, recon=240.0), fake("b", kl=9.0, recon=200.0)
    fashion_model = ui_compare.Entry("b", "b", "#000", fashion_model.run.but(dataset={"name": "fashion-mnist"}),
                                     fashion_model.scores)  # fmt: skip
    text = lessons.explain(None, [digits_model, fashion_model], [np.zeros((6, 784))] * 2, digit=0)
    assert "fits best" not in text and "different data" in text
    assert "fits best" in lessons.explain(None, [digits_model, fake("c")], [np.zeros((6, 784))] * 2, digit=0)


def test_the_questions_offered_are_those_whose_models_are_on_this_server():
    every = [ui_compare.KIT_PREFIX + name for name in ("beta-0.2", "beta-1", "beta-4", "zdim-2", "plain")]
    offered = lessons.available(every)
    assert list(offered) == ["beta", "zdim", "classifier"]  # lr-0.1 is missing
    assert lessons.question_of(list(reversed(offered["zdim"])), offered) == "zdim"
    assert lessons.question_of(every[:2], offered) is None
