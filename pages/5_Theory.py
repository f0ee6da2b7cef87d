"""Theory: why a VAE works, one idea at a time, each next to a live widget on the model on show."""

import numpy as np
import streamlit as st
from torch import Tensor

from ui import diagram, layout
from ui import theory_widgets as tw
from ui.film import film
from ui.latent_canvas import latent_controls
from ui.words import md, words
from vae import generate
from vae.images import picture

shown = layout.need_model(layout.page("Theory", "Why a VAE works, one idea at a time, tried on the model you picked."))
c = shown.config
test = layout.need_test_images(shown)
data, n_test = test.name, len(test.test_y)
vocab = words(data)
names = vocab.names
sigma = f"σ = {c.decoder_std:g}"
likelihood_tex = (
    rf"P(X \mid z) = \mathcal{{N}}\big(X;\ f(z),\ \sigma^2 I\big), \qquad \sigma = {c.decoder_std:g}"
    if c.likelihood == "gaussian"
    else r"P(X \mid z) = \prod_{i=1}^{784} f_i(z)^{x_i}\,\big(1 - f_i(z)\big)^{1 - x_i}"
)

st.markdown(
    f"Every number and picture on this page comes from **{md(shown.label)}** (z_dim {c.z_dim}, "
    f"{f'{vocab.kind}-conditioned' if c.conditional else 'plain VAE'}), computed just now. Pick another model in the sidebar "
    "and the page follows it. ELBOs and log-likelihoods are in *nats* (natural logarithms) per image."
)


def pick_image(key: str, default: int) -> int:
    """A test-image number picker, in a narrow column."""
    return st.columns([1, 3])[0].number_input(
        f"Test image number (0 to {n_test - 1})", 0, n_test - 1, min(default, n_test - 1), key=key
    )


st.header("1 · A generative model gives every image a score")
st.markdown(
    "A generative model learns a probability density **P(X)** over images: high for images that look like its "
    "training data, low for everything else. Sampling from it then gives *new* images that look like the data.\n\n"
    "If pixels were independent, this would be easy: model each pixel on its own. They are not. Seeing the left "
    "half of a 4 makes the right half of a 0 very surprising. Below, the model scores real test images, images "
    f"glued from two halves of *different* {vocab.plural}, and random noise. The score is the **ELBO**, a lower bound on "
    "log P(X) (section 5 explains it): higher means more likely."
)
groups = tw.likelihood_groups(shown.key, data, shown.model)
for (name, g), col in zip(groups.items(), st.columns(3), strict=True):
    with col:
        st.markdown(f"**{name}** · mean ELBO {np.mean(g['elbo']):,.0f}")
        captions = [f"{cap}: {e:,.0f}".lstrip(": ") for cap, e in zip(g["captions"], g["elbo"], strict=False)]
        st.image(
            [picture(im[None], 1, 3) for im in g["images"]], caption=captions, width=84
        )  # 28 px x 3, however long the caption
st.plotly_chart(tw.elbo_histogram(groups), key="th_elbo_hist")
glued, real = np.mean(groups["Two halves glued"]["elbo"]), np.mean(groups["Test images"]["elbo"])
st.caption(
    f"{len(groups['Test images']['elbo'])} images of each kind; the number under an image is its ELBO. "
    + (
        f"Glued halves score lower than real {vocab.item}s: the model has learned which pixels go together."
        if glued < real
        else f"Here glued halves score as well as real {vocab.item}s: this model has not yet learned which pixels go "
        "together."
    )
)

st.header("2 · Hidden instructions: the latent space")
st.markdown(
    "Much about an image is not written in its pixels: which digit it is, how thick the strokes are, the slant. "
    "Drawing happens in two steps: decide those attributes, then turn them into strokes. A VAE imitates this. "
    "A **latent vector z** holds the drawing instructions, and the probability of an image adds up every set of "
    "instructions that could have drawn it, weighted by how likely those instructions are:"
)
st.latex(r"P(X) = \int P(X \mid z)\, P(z)\, dz")
st.markdown(
    '*Could z have drawn X?* is P(X|z) (instructions meaning "7" draw a 1 more easily than an 8). '
    "*Is z itself likely?* is P(z) (an upside-down 7 is a valid description, but an unlikely one)."
)


@st.fragment
def prior_widget() -> None:
    if st.button("🎲 Draw 8 new z", key="th_prior_new"):
        st.session_state["th_prior_seed"] = st.session_state.get("th_prior_seed", 0) + 1
    images, digits = tw.prior_samples(shown.model, st.session_state.get("th_prior_seed", 0))
    captions = [vocab.called(d) for d in digits] if digits else None
    st.image([picture(im[None], 1, 3) for im in np.asarray(images)], caption=captions)
    extra = f" Each also gets a random {vocab.kind} to draw (section 7)." if digits else ""
    st.caption(f"Eight z drawn from P(z) = N(0, I) and decoded: each z is a set of drawing instructions.{extra}")


prior_widget()

st.header("3 · Why a standard Gaussian and a decoder")
st.markdown(
    "Two worries: what should each dimension of z *mean* (we don't want to label them by hand), and how do the "
    "dimensions depend on each other (fast writing makes digits both slanted *and* thinner)? Deep learning removes "
    "both. Any distribution can be made by pushing a simple one through a complicated enough function, so we fix "
    "**P(z) = N(0, I)** and let the decoder network **f** learn the rest: its first layers turn the Gaussian into "
    "whatever the attributes really look like, its later layers turn those into pixels. The plot shows a hand-made "
    "function turning a Gaussian blob into a ring."
)
st.plotly_chart(tw.ring_figure(), key="th_ring")
st.markdown("The decoder's output f(z) is the centre of the image distribution for that z:")
st.latex(likelihood_tex)
left, right = st.columns([1, 2])
left.image(picture(tw.mean_and_sample(shown.model), 2, 4), caption="left: f(z) · right: a draw from P(X|z)")
noise = (
    f"Gaussian noise with {sigma} on every pixel" if c.likelihood == "gaussian" else "each pixel on or off at random"
)
right.markdown(
    f"Left: f(z), what the app shows when it generates. Right: a real draw from P(X|z), which adds {noise}. "
    "Real draws are noisy, so we show their centre. The noise is not a flaw: it gives *every* image some "
    "probability under every z, so the training "
    "signal never vanishes. With no noise (a deterministic f) almost every image would have probability zero "
    "and there would be no gradient to learn from."
)

st.header("4 · Why random guessing fails, and the encoder")
st.markdown("To train, we want P(X) high for the training images. The obvious estimate averages over random z:")
st.latex(r"P(X) \approx \frac{1}{n}\sum_{i=1}^{n} P(X \mid z_i), \qquad z_i \sim \mathcal{N}(0, I)")
st.markdown(
    "In many dimensions almost no random z draws anything like a given X, so this needs astronomically many "
    "samples. The shortcut is an **encoder Q(z|X)**: a network that looks at X and proposes the z's likely to "
    "have drawn it. Then a handful of samples is enough."
)


@st.fragment
def encoder_widget() -> None:
    index = pick_image("th_mc_index", 400)
    x, label = tw.test_image(data, index)
    r = tw.prior_vs_encoder(shown.key, data, shown.model, index)
    cols = st.columns([1, 2, 2])
    cols[0].image(picture(x, 1, 3), caption=f"X, labelled {names[label]}")
    cols[1].image(picture(r["prior"]["images"], 6, 2), caption="6 of the 100 z from the prior, decoded")
    cols[2].image(picture(r["encoder"]["images"], 6, 2), caption="6 of the 100 z from the encoder, decoded")
    st.plotly_chart(tw.error_histogram(r), key="th_mc_hist")
    prior, enc = np.median(r["prior"]["error"]), np.median(r["encoder"]["error"])
    better = int((r["prior"]["error"] < enc).sum())
    st.markdown(
        f"Median error: **{prior:,.0f}** nats with z from the prior, **{enc:,.0f}** with z from the encoder "
        f"({better} of 100 prior z beat the encoder's median). A gap of {prior - enc:,.0f} nats means a typical "
        f"encoder z is about $e^{{{prior - enc:.0f}}}$ times more likely to have drawn X than a typical prior z."
    )
    if c.conditional:
        st.caption(f"Both decode with the classifier's guess of X's {vocab.kind}, so only z differs.")


encoder_widget()

st.header("5 · The ELBO: reconstruct well, but stay close to the prior")
st.markdown(
    "With z drawn from Q instead of P(z), we no longer estimate log P(X) itself. The two are tied by an exact identity "
    "(Q(z|X) here is the encoder's Gaussian; P(z|X) is the true, unknown posterior):"
)
st.latex(  # on two lines: one would not fit a 1024-pixel projector beside the sidebar
    r"\begin{aligned}\log P(X) - \mathrm{KL}\big(Q(z \mid X)\,\|\,P(z \mid X)\big)"
    r" &= \underbrace{\mathbb{E}_{z \sim Q}\big[\log P(X \mid z)\big]}_{\text{reconstruction}} \\"
    r" &\quad - \underbrace{\mathrm{KL}\big(Q(z \mid X)\,\|\,P(z)\big)}_{\text{stay close to the prior}}"
    r"\end{aligned}"
)
with st.expander("Where does this identity come from?"):
    st.markdown(
        "Start from the KL to the true posterior and use Bayes' rule, log P(z|X) = log P(X|z) + log P(z) − log P(X):"
    )
    st.latex(
        r"\begin{aligned}&\mathrm{KL}\big(Q(z \mid X)\,\|\,P(z \mid X)\big) \\"
        r" &= \mathbb{E}_{Q}\big[\log Q(z \mid X) - \log P(X \mid z) - \log P(z)\big] + \log P(X) \\"
        r" &= -\mathbb{E}_{Q}\big[\log P(X \mid z)\big] + \mathrm{KL}\big(Q(z \mid X)\,\|\,P(z)\big) + \log P(X)"
        r"\end{aligned}"
    )
    st.markdown(
        "Rearranged, this is the identity above. Nothing is approximated. The KL to the true posterior cannot be "
        "computed (P(z|X) is unknown), but it is never negative, so the right side is a lower bound on log P(X)."
    )
st.markdown(
    "The right side is the **ELBO** (evidence lower bound). A KL divergence is never negative, so the ELBO is "
    "below log P(X); raising it pushes log P(X) up, pulls Q toward the true posterior, or both. The encoder's Q is a "
    "diagonal Gaussian, so its KL to N(0, I) has a closed form (Kingma & Welling 2014, Appendix B):"
)
st.latex(
    r"\begin{gathered}Q(z \mid X) = \mathcal{N}\big(\mu(X),\ \mathrm{diag}\,\sigma^2(X)\big),"
    r" \quad \sigma^2 = 10^{-5} + e^{h(X)} \\"
    r"\mathrm{KL} = \tfrac12 \sum_j \big(\sigma_j^2 + \mu_j^2 - 1 - \log \sigma_j^2\big)\end{gathered}"
)
e = tw.test_elbo(shown.key, data, shown.model)
m = st.columns(3)
m[0].metric("Reconstruction E[log P(X|z)]", f"{-e['recon']:,.1f}")
m[1].metric("KL(Q(z|X) ‖ P(z))", f"{e['kl']:,.1f}")
m[2].metric("ELBO", f"{e['elbo']:,.1f}")
st.caption(f"Means over {e['n']:,} test images, one z per image, for {md(shown.label)}.")
st.markdown(
    "The two terms pull against each other. Reconstruction wants z to pin X down exactly (a sharp Q far from the "
    "prior); the KL wants every Q to look like N(0, I), which carries no information about X. Training weighs them "
    f"with **β = {c.beta:g}** (β = 1 is the plain ELBO; larger β trades detail for a smoother latent space):"
)
class_term = rf" + {c.classification_weight:g}\cdot\text{{cross-entropy}}" if c.conditional else ""
st.latex(rf"\text{{loss}} = -\mathbb{{E}}_{{Q}}\big[\log P(X \mid z)\big] + {c.beta:g}\cdot\mathrm{{KL}}{class_term}")
st.plotly_chart(tw.kl_bars(e["kl_dims"]), key="th_kl_bars")
st.caption(
    "KL per latent dimension. A dimension with KL near 0 is unused: the model found it cheaper to leave it as the prior."
)

st.header("6 · The reparameterization trick")
st.markdown(
    'Training needs gradients through "draw z from Q(z|X)", and a random draw has none. The trick moves the '
    "randomness into a fixed noise ε, so z becomes an ordinary function of μ and σ and gradients flow through them:"
)
st.latex(r"z = \mu(X) + \sigma(X) \odot \varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, I)")


@st.fragment
def reparam_widget() -> None:
    index = pick_image("th_rep_index", 700)
    st.button(
        "🎲 Resample ε",
        key="th_resample",
        on_click=lambda: st.session_state.update(th_eps_seed=st.session_state.get("th_eps_seed", 0) + 1),
    )
    x, label = tw.test_image(data, index)
    r = tw.reparameterize(shown.model, x, st.session_state.get("th_eps_seed", 0))
    left, right = st.columns([1, 2])
    left.image([picture(im[None], 1, 3) for im in r["images"]], caption=["X", "f(μ)", "f(z)"])
    left.caption(f"X is labelled {names[label]}; f(μ) decodes the encoder's mean, f(z) this sample.")
    right.plotly_chart(tw.reparam_figure(r), key="th_rep_chart")
    st.dataframe(
        {
            "dimension": [f"z{j}" for j in range(c.z_dim)],
            "μ": r["mu"],
            "σ": r["sigma"],
            "ε": r["eps"],
            "z = μ + σ·ε": r["z"],
        },
        hide_index=True,
        key="th_rep_table",
    )
    st.markdown("Press *Resample ε*: ε and z change, μ and σ stay (they depend only on X), and f(z) wobbles a little.")
    twist = " (the classifier is section 7's twist)" if c.conditional else ""
    st.markdown(f"**All together.** The same {vocab.item} and the same ε, through the whole model{twist}:")
    diagram.draw(shown.model, x, st.session_state.get("th_eps_seed", 0), vocab)
    st.markdown(
        "The loss is the reconstruction error plus the KL to the prior. To create a new image, skip the encoder: "
        "draw z from N(0, I) and decode it."
    )


reparam_widget()

st.header(f"7 · Choosing the {vocab.kind}")
st.markdown(
    f'Nothing says which dimension of z means "which {vocab.kind}". The twist in this model: give the decoder 10 '
    f"extra inputs with a known meaning, a one-hot {vocab.kind}. In training a small classifier reads X and its "
    "softmax fills those inputs (it learns from the true labels with a cross-entropy loss), so the model still "
    f"needs nothing but an image. After training you choose the {vocab.kind} yourself, and z is left to carry the "
    "*style*."
)


def choose_digit() -> Tensor:
    """The ten-digit row and the two-digit blend for a conditional model; returns the style z used."""
    source = st.radio("Style z", ["a random z", "the μ of a test image"], horizontal=True, key="th_style_source")
    x = None
    if source == "a random z":
        if st.button("🎲 New style", key="th_style_new"):
            st.session_state["th_style_seed"] = st.session_state.get("th_style_seed", 0) + 1
    else:
        index = pick_image("th_style_index", 200)
        x, _ = tw.test_image(data, index)
    z = tw.style_z(shown.model, st.session_state.get("th_style_seed", 0), x)
    row = generate.digit_rows(shown.model, z)
    st.image(picture(row if x is None else np.concatenate([x.numpy(), row]), 11, 3))
    first = "The test image, then one z" if x is not None else "One z"
    st.caption(
        f"{first} decoded with each one-hot {vocab.kind} {names[0]} … {names[9]}: same style, ten {vocab.plural}. If the ten "
        f"look alike, this model has not learned to use its {vocab.kind} input yet: it needs more training."
    )
    a, b, w = st.columns([1, 1, 3])
    digit_a = a.selectbox(
        f"From {vocab.kind}", range(10), index=3, format_func=names.__getitem__, key=f"th_mix_a-{data}"
    )
    digit_b = b.selectbox(f"To {vocab.kind}", range(10), index=8, format_func=names.__getitem__, key=f"th_mix_b-{data}")
    mix = w.slider(f"Weight of the second {vocab.kind}", 0.0, 1.0, 0.5, 0.05, key="th_mix")
    pic, strip = st.columns([1, 4])
    pic.image(
        picture(generate.blends(shown.model, z, digit_a, digit_b, [mix]), 1, 4),
        caption=f"{1 - mix:.2f}·{names[digit_a]} + {mix:.2f}·{names[digit_b]}",
    )
    strip.image(picture(generate.blends(shown.model, z, digit_a, digit_b, list(np.linspace(0, 1, 9))), 9, 3))
    strip.caption(
        f"The same z, its {vocab.kind} input sliding from {names[digit_a]} (left) to {names[digit_b]} (right)."
    )
    return z


@st.fragment
def digit_widget() -> None:
    if c.conditional:
        z = choose_digit()
    else:
        st.info(
            f"**{md(shown.label)}** is a plain VAE: its decoder reads z alone, with no {vocab.kind} input, so there is "
            f"no {vocab.kind} to choose; which {vocab.kind} it draws is tangled up in z with everything else. Pick "
            f"a {vocab.kind}-conditioned model in the sidebar to try this section."
        )
        z = tw.style_z(shown.model, 0)
    with st.expander("✋ Drag z yourself: the picture follows your mouse"):
        latent_controls(shown.model, shown.key, initial={"z": z[0].tolist()}, key="th_canvas")


digit_widget()

st.header("8 · Watching it learn")
if c.conditional and data != "mnist":  # the epoch-nine fact below is full MNIST's
    what = (
        f"one random style z and decodes it as each of the ten {vocab.plural}: one row per epoch. Early rows are "
        f"blurry blobs that all look alike; later ones draw ten different {vocab.plural} in one style."
    )
elif c.conditional:
    what = (
        "one random style z and decodes it as each of the ten digits: one row per epoch. Early rows are blurry "
        "blobs that all look alike. On full MNIST with the seed preset the digits become readable around epoch "
        "nine, and within a row all ten share one handwriting (some epochs draw thicker strokes than others); a "
        "smaller data set or fewer epochs take longer."
    )
else:
    what = (
        "ten random z and decodes them: one row per epoch. Early rows are blurry blobs; later ones look like "
        f"{vocab.item}s."
    )
st.markdown(f"After every epoch the trainer draws {what} Start a run and watch it happen:")
st.page_link("pages/1_Train.py", label="Open the Train page", icon="🏋️")
rows, row_epochs, metrics = shown.sample_rows, shown.sample_epochs, shown.epoch_metrics
if len(rows) == 0:
    st.info(
        f"**{md(shown.label)}** has no per-epoch rows saved yet: train a model (or wait for its first epoch) to see them."
    )
else:
    keep = np.unique(np.linspace(0, len(rows) - 1, min(len(rows), 10)).round().astype(int))
    st.image(picture(rows[keep].reshape(-1, 784), 10, 2))
    what = (
        f"{vocab.plural} {names[0]} … {names[9]} in one style"
        if c.conditional
        else f"ten random z (no {vocab.kind} input)"
    )
    st.caption(f"Top to bottom: after epoch {', '.join(str(row_epochs[k]) for k in keep)}. Each row: {what}.")
if len(shown.film):
    st.markdown(
        "Because each row's style is new, a late row can look worse than an earlier one. The trainer also draws "
        f"the **same** four styles after every epoch: play them, and watch the same {vocab.plural} sharpen."
    )
    labels = names if c.conditional else None
    film(shown.film, shown.film_epochs, labels, key="th_film", frames_key=f"{shown.run_id}-{len(shown.film_epochs)}")
if metrics:
    st.plotly_chart(tw.loss_curves(metrics, vocab.classifier if c.conditional else None), key="th_curves")
    both = (
        f"The VAE loss should fall as it gets better at drawing. The classifier's loss falls at first too; if it "
        f"then turns up while training goes on, the classifier has started to memorise its training {vocab.plural} "
        "rather than learn what makes them different (overfitting)."
    )
    st.caption(both if c.conditional else "The loss should fall as the VAE gets better at drawing.")
