"""The five source documents the study re-measures, in one table: their number (000–004, as EXERCISES.md and
the files in seeds/ name them), the prefix of their question ids (E7, H4, A7, M2, D1), the report page that
answers them, and their title. "Document" always means one of these; "seed" always means a random seed."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    number: str  #: "003": EXERCISES.md's "Seed 003", the file seeds/003_*.txt
    prefix: str  #: "M2": its questions are M2.1, M2.2, ...
    title: str  #: the document's own title
    topic: str  #: what its page covers, for the sidebar

    @property
    def page(self) -> str:
        """The report page (and answer module) of this document: 'm2' → report/m2.qmd, analysis/study/answers/m2.py."""
        return self.prefix.lower()

    @property
    def label(self) -> str:
        """How links name the page: 'M2 · document 003'."""
        return f"{self.prefix} · document {self.number}"


DOCUMENTS: tuple[Document, ...] = (
    Document("000", "E7", "Exercise 7: sigmoid activation and batch normalisation", "sigmoid CNN & batch norm"),
    Document("001", "H4", "HW4", "epochs, batches, BN, 8-layer CNN"),
    Document("002", "A7", "Assignment 7: neural networks and a glimpse at PyTorch",
             "XOR, backprop, vanishing gradients"),
    Document("003", "M2", "Machine Learning Assignment 2", "depth × activation, LeCun tanh"),
    Document("004", "D1", "Deep Learning Assignment 1", "softmax to regularised MLPs"),
)
BY_PREFIX: dict[str, Document] = {d.prefix: d for d in DOCUMENTS}
BY_PAGE: dict[str, Document] = {d.page: d for d in DOCUMENTS}


def of_question(question: str) -> Document | None:
    """The document a question id belongs to: 'M2.3' → M2's, 'BN paper, Fig. 1' → None."""
    return BY_PREFIX.get(question[:2])
