"""What the pages call things, per dataset: the tutorial's digits on MNIST, clothes on Fashion-MNIST.

One place for it, so that a Fashion-MNIST model is never described as drawing "digit Pullover"."""

import re
from dataclasses import dataclass

from vae.data import DIGIT_NAMES, FASHION_NAMES


@dataclass(frozen=True)
class Words:
    item: str  # one image: "digit" / "image"
    kind: str  # what a label names, the decoder's one-hot input: "digit" / "class"
    style: str  # what z holds beside the label: "handwriting" / "style"
    names: tuple[str, ...]  # the ten labels, in order
    style_examples: str  # what z varies within one label
    classifier: str  # the auxiliary classifier, as chart titles name it

    @property
    def plural(self) -> str:
        return f"{self.kind}es" if self.kind.endswith("s") else f"{self.kind}s"

    @property
    def an_item(self) -> str:
        """ "a digit", "an image"."""
        return f"an {self.item}" if self.item[0] in "aeiou" else f"a {self.item}"

    def called(self, label: int) -> str:
        """One label in a caption: "digit 3" (a bare number needs its noun), "Pullover"."""
        return f"{self.kind} {self.names[label]}" if self.names[label].isdigit() else self.names[label]

    @property
    def span(self) -> str:
        """The labels as a range, for captions: "0 to 9", "T-shirt/top to Ankle boot"."""
        return f"{self.names[0]} to {self.names[-1]}"


DIGITS = Words("digit", "digit", "handwriting", DIGIT_NAMES, "slant, stroke width, …", "Digit classifier")
CLOTHES = Words("image", "class", "style", FASHION_NAMES, "shade, width, pattern, …", "Classifier")


def words(dataset: str) -> Words:
    return CLOTHES if dataset == "fashion-mnist" else DIGITS


# What Streamlit's Markdown would read as formatting inside a line: emphasis, code, links (with "["
# escaped, "(" cannot start one), HTML, tables, strikethrough, LaTeX ($); and emoji shortcodes (:x:),
# whose first colon is escaped.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~$])")
_SHORTCODE = re.compile(r":(?=[\w+-]+:)")


def md(name: str) -> str:
    """A file's name as Markdown shows it, character for character: a checkpoint copied in by hand may
    be called `**x**`, `[x](y)` or hold a newline."""
    return _SHORTCODE.sub(r"\\:", _MARKDOWN.sub(r"\\\1", " ".join(name.splitlines())))
