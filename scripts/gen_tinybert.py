#!/usr/bin/python3
"""Generate the tiny BERT test fixtures of models/encoder (ONNX encoder tests).

Writes, deterministically (fixed numpy seed, no timestamps):

  models/encoder/testdata/tinybert/
    model.onnx      2-layer BERT (hidden 32, 2 heads, intermediate 64), opset 17,
                    inputs input_ids / attention_mask / token_type_ids (int64
                    [batch, sequence]), outputs last_hidden_state [batch, sequence, 32]
                    and pooler_output [batch, 32], laid out like an HF/optimum export
    tokenizer.json  HF tokenizers BertWordPiece: BertNormalizer (lowercase,
                    strip_accents null as bert-base-uncased ships it),
                    BertPreTokenizer, TemplateProcessing [CLS] $A [SEP], WordPiece
    config.json     HF config (model_type bert, hidden_size, ...)
    routekit.json   pooling mean, max_length 128, output last_hidden_state, normalize
    reference.json  per test sentence: the token ids of this script's own reference
                    tokenizer (HF semantics, head+tail truncation) and the mean-pooled,
                    L2-normalised embedding computed in numpy (float64) from the same weights
  models/encoder/testdata/badinputs/
    model.onnx      a model whose inputs are named ids / mask (wrong names)
    tokenizer.json  same tokenizer as tinybert
  models/encoder/testdata/int32dyn/
    model.onnx      embedding lookup only, int32 inputs, symbolic hidden size, no config.json
    tokenizer.json  same tokenizer as tinybert
    reference.json  ids and embeddings of 3 sentences (max_length 512, the default)

Needs Debian's python3-onnx and python3-numpy (run with /usr/bin/python3):
    apt-get install -y python3-onnx python3-numpy
    /usr/bin/python3 scripts/gen_tinybert.py [OUT_DIR]   (default models/encoder/testdata)
The Go tests only read the generated files; they never need Python.
"""
import json
import math
import os
import string
import sys
import unicodedata

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "encoder", "testdata")

# ---------------------------------------------------------------- vocabulary
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCT = list(string.punctuation)
DIGITS = [str(i) for i in range(10)]
LETTERS = list(string.ascii_lowercase)
WORDS = """the a an of to and in is it that this for on with as be are was what how why when where
who which can you your me my i we please write explain summarize translate code python function
sort list array string number numbers data model router routing prompt question answer cost
quality fast slow cheap large small best better good bad help tell give make find show use about
from into between more most than then there their they he she his her not no yes do does did
have has had will would should could if else return print class def import error bug fix test
run build go rust java javascript sql query database table api server client request response
http json file text word sentence language english french german spanish cafe creme brulee naive
resume hello world today tomorrow weather nice capital france paris city country one two three
first second last long short step think reasoning math solve equation calculate sum product
prove theorem story poem essay email letter summary article news history science physics
chemistry biology computer learning machine neural network deep train inference latency token
embedding vector search instructions following each""".split()
SUFFIXES = ["##s", "##es", "##ing", "##ed", "##er", "##ly", "##tion", "##ize", "##able", "##est",
            "##ment", "##ness", "##ful"]

vocab = []
for t in SPECIAL + PUNCT + DIGITS + ["##" + d for d in DIGITS] + LETTERS + ["##" + c for c in LETTERS] + WORDS + SUFFIXES:
    if t not in vocab:
        vocab.append(t)
VOCAB = {t: i for i, t in enumerate(vocab)}
assert VOCAB["[PAD]"] == 0
V = len(vocab)
UNK, CLS, SEP = VOCAB["[UNK]"], VOCAB["[CLS]"], VOCAB["[SEP]"]

# ------------------------------------------------- reference tokenizer (HF semantics)
def _is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c) in ("Cc", "Cf", "Cn", "Co", "Cs")


def _is_whitespace(c):
    return c in "\t\n\r" or c.isspace()


def _is_punct(c):
    return c in string.punctuation or unicodedata.category(c).startswith("P")


def _is_cjk(c):
    cp = ord(c)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def normalize(text):
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents=None->lowercase, lowercase)."""
    out = []
    for c in text:  # clean_text
        if ord(c) == 0 or ord(c) == 0xFFFD or _is_control(c):
            continue
        out.append(" " if _is_whitespace(c) else c)
    s = "".join(" " + c + " " if _is_cjk(c) else c for c in out)
    s = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
    return s.lower()


def pretokenize(s):
    """BertPreTokenizer: split on whitespace (dropped) and punctuation (kept, isolated)."""
    words, cur = [], []
    for c in s:
        if _is_whitespace(c):
            if cur:
                words.append("".join(cur))
                cur = []
        elif _is_punct(c):
            if cur:
                words.append("".join(cur))
                cur = []
            words.append(c)
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


def wordpiece(word):
    if len(word) > 100:
        return [UNK]
    ids, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in VOCAB:
                found = VOCAB[sub]
                break
            end -= 1
        if found is None:
            return [UNK]
        ids.append(found)
        start = end
    return ids


def head_tail(ids, budget):
    """encoder.HeadTail: the first budget//2 and the last budget - budget//2."""
    if len(ids) <= budget:
        return ids
    head = budget // 2
    return ids[:head] + ids[len(ids) - (budget - head):]


MAX_LENGTH = 128  # whole sequence, [CLS] and [SEP] included


def tokenize(text):
    content = [i for w in pretokenize(normalize(text)) for i in wordpiece(w)]
    return content, [CLS] + head_tail(content, MAX_LENGTH - 2) + [SEP]


# ---------------------------------------------------------------- the model
D, NH, F, L, P = 32, 2, 64, 2, 128
DH = D // NH
rng = np.random.default_rng(20240611)
inits, nodes = [], []


def param(name, shape, scale):
    a = (rng.standard_normal(shape) * scale).astype(np.float32)
    inits.append(nh.from_array(a, name))
    return a


def const(name, arr):
    inits.append(nh.from_array(np.asarray(arr), name))


def node(op, ins, outs, **kw):
    nodes.append(h.make_node(op, ins, outs, name=outs[0] + "_" + op, **kw))


def ln_params(prefix):
    param(prefix + ".weight", (D,), 0.1)
    inits[-1] = nh.from_array(1.0 + nh.to_array(inits[-1]), prefix + ".weight")
    param(prefix + ".bias", (D,), 0.05)


param("embeddings.word_embeddings.weight", (V, D), 0.5)
param("embeddings.position_embeddings.weight", (P, D), 0.2)
param("embeddings.token_type_embeddings.weight", (2, D), 0.2)
ln_params("embeddings.LayerNorm")
const("zero_i", np.array(0, np.int64))
const("one_i", np.array(1, np.int64))
const("one_f", np.array(1.0, np.float32))
const("mask_min", np.array(np.finfo(np.float32).min, np.float32))
const("axes_12", np.array([1, 2], np.int64))
const("shape_bthd", np.array([0, 0, NH, DH], np.int64))
const("shape_btd", np.array([0, 0, D], np.int64))
const("sqrt_dh", np.array(math.sqrt(DH), np.float32))
const("sqrt_2", np.array(math.sqrt(2.0), np.float32))
const("half", np.array(0.5, np.float32))

node("Shape", ["input_ids"], ["ids_shape"])
node("Gather", ["ids_shape", "one_i"], ["seq_len"], axis=0)
node("Range", ["zero_i", "seq_len", "one_i"], ["position_ids"])
node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], ["e_word"], axis=0)
node("Gather", ["embeddings.position_embeddings.weight", "position_ids"], ["e_pos"], axis=0)
node("Gather", ["embeddings.token_type_embeddings.weight", "token_type_ids"], ["e_type"], axis=0)
node("Add", ["e_word", "e_type"], ["e_sum0"])
node("Add", ["e_sum0", "e_pos"], ["e_sum"])
node("LayerNormalization", ["e_sum", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"], ["h_emb"],
     axis=-1, epsilon=1e-12)
# extended attention mask: (1 - mask) * float32.min, shape [B, 1, 1, T]
node("Cast", ["attention_mask"], ["mask_f"], to=TP.FLOAT)
node("Unsqueeze", ["mask_f", "axes_12"], ["mask_4d"])
node("Sub", ["one_f", "mask_4d"], ["mask_inv"])
node("Mul", ["mask_inv", "mask_min"], ["mask_bias"])

hprev = "h_emb"
for l in range(L):
    p = f"encoder.layer.{l}."
    for nm in ("query", "key", "value"):
        param(p + f"attention.self.{nm}.weight", (D, D), 0.3)
        param(p + f"attention.self.{nm}.bias", (D,), 0.05)
        node("MatMul", [hprev, p + f"attention.self.{nm}.weight"], [p + nm + ".mm"])
        node("Add", [p + nm + ".mm", p + f"attention.self.{nm}.bias"], [p + nm + ".out"])
        node("Reshape", [p + nm + ".out", "shape_bthd"], [p + nm + ".heads"])
    node("Transpose", [p + "query.heads"], [p + "q"], perm=[0, 2, 1, 3])
    node("Transpose", [p + "key.heads"], [p + "kT"], perm=[0, 2, 3, 1])
    node("Transpose", [p + "value.heads"], [p + "v"], perm=[0, 2, 1, 3])
    node("MatMul", [p + "q", p + "kT"], [p + "scores0"])
    node("Div", [p + "scores0", "sqrt_dh"], [p + "scores1"])
    node("Add", [p + "scores1", "mask_bias"], [p + "scores"])
    node("Softmax", [p + "scores"], [p + "probs"], axis=-1)
    node("MatMul", [p + "probs", p + "v"], [p + "ctx0"])
    node("Transpose", [p + "ctx0"], [p + "ctx1"], perm=[0, 2, 1, 3])
    node("Reshape", [p + "ctx1", "shape_btd"], [p + "ctx"])
    param(p + "attention.output.dense.weight", (D, D), 0.2)
    param(p + "attention.output.dense.bias", (D,), 0.05)
    ln_params(p + "attention.output.LayerNorm")
    node("MatMul", [p + "ctx", p + "attention.output.dense.weight"], [p + "ao.mm"])
    node("Add", [p + "ao.mm", p + "attention.output.dense.bias"], [p + "ao.out"])
    node("Add", [p + "ao.out", hprev], [p + "ao.res"])
    node("LayerNormalization", [p + "ao.res", p + "attention.output.LayerNorm.weight",
                                p + "attention.output.LayerNorm.bias"], [p + "attn_out"], axis=-1, epsilon=1e-12)
    param(p + "intermediate.dense.weight", (D, F), 0.2)
    param(p + "intermediate.dense.bias", (F,), 0.05)
    param(p + "output.dense.weight", (F, D), 0.15)
    param(p + "output.dense.bias", (D,), 0.05)
    ln_params(p + "output.LayerNorm")
    node("MatMul", [p + "attn_out", p + "intermediate.dense.weight"], [p + "i.mm"])
    node("Add", [p + "i.mm", p + "intermediate.dense.bias"], [p + "i.out"])
    # exact GELU as exported by torch (opset < 20): 0.5 * x * (1 + erf(x / sqrt 2))
    node("Div", [p + "i.out", "sqrt_2"], [p + "gelu.div"])
    node("Erf", [p + "gelu.div"], [p + "gelu.erf"])
    node("Add", [p + "gelu.erf", "one_f"], [p + "gelu.add"])
    node("Mul", [p + "i.out", p + "gelu.add"], [p + "gelu.mul"])
    node("Mul", [p + "gelu.mul", "half"], [p + "gelu"])
    node("MatMul", [p + "gelu", p + "output.dense.weight"], [p + "o.mm"])
    node("Add", [p + "o.mm", p + "output.dense.bias"], [p + "o.out"])
    node("Add", [p + "o.out", p + "attn_out"], [p + "o.res"])
    out = "last_hidden_state" if l == L - 1 else p + "out"
    node("LayerNormalization", [p + "o.res", p + "output.LayerNorm.weight", p + "output.LayerNorm.bias"], [out],
         axis=-1, epsilon=1e-12)
    hprev = out
# pooler: tanh(dense(h[:, 0]))
param("pooler.dense.weight", (D, D), 0.2)
param("pooler.dense.bias", (D,), 0.05)
node("Gather", ["last_hidden_state", "zero_i"], ["h_cls"], axis=1)
node("MatMul", ["h_cls", "pooler.dense.weight"], ["pool.mm"])
node("Add", ["pool.mm", "pooler.dense.bias"], ["pool.out"])
node("Tanh", ["pool.out"], ["pooler_output"])

ids_info = lambda n: h.make_tensor_value_info(n, TP.INT64, ["batch_size", "sequence_length"])
graph = h.make_graph(
    nodes, "tinybert",
    [ids_info("input_ids"), ids_info("attention_mask"), ids_info("token_type_ids")],
    [h.make_tensor_value_info("last_hidden_state", TP.FLOAT, ["batch_size", "sequence_length", D]),
     h.make_tensor_value_info("pooler_output", TP.FLOAT, ["batch_size", D])],
    inits)
model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)], producer_name="routekit-gen_tinybert")
model.ir_version = 8
onnx.checker.check_model(model)

# ---------------------------------------------------------- numpy reference
W = {i.name: nh.to_array(i).astype(np.float64) for i in inits}
erf = np.vectorize(math.erf)


def layer_norm(x, g, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def forward(ids):
    """last_hidden_state of one unpadded sequence, [T, D], float64."""
    T = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:T] \
        + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    for l in range(L):
        p = f"encoder.layer.{l}."
        q, k, v = [(x @ W[p + f"attention.self.{nm}.weight"] + W[p + f"attention.self.{nm}.bias"])
                   .reshape(T, NH, DH).transpose(1, 0, 2) for nm in ("query", "key", "value")]
        s = q @ k.transpose(0, 2, 1) / math.sqrt(DH)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(T, D)
        a = ctx @ W[p + "attention.output.dense.weight"] + W[p + "attention.output.dense.bias"]
        x = layer_norm(a + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"])
        i = x @ W[p + "intermediate.dense.weight"] + W[p + "intermediate.dense.bias"]
        i = 0.5 * i * (1.0 + erf(i / math.sqrt(2.0)))
        o = i @ W[p + "output.dense.weight"] + W[p + "output.dense.bias"]
        x = layer_norm(o + x, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    return x


def embed(ids):
    v = forward(ids).mean(0)  # attention mask is all ones for an unpadded sequence
    return v / np.linalg.norm(v)


LONG = ("Instructions: summarize the following article in three short sentences. "
        + "The router sends each prompt to the best model for its cost and latency. " * 12
        + "Question: what is the capital of France?")
SENTENCES = [
    "Write a Python function that sorts a list.",
    "Café crème brûlée, naïve résumé!",
    "EXPLAIN QUANTUM Computing To Me!!!",
    "?",
    "",
    "What's the capital of France? (answer in one word)",
    "Translate to German:\tthe weather is nice\ntoday.",
    "the 東京 router costs 3€ 🙂 xyzzy",
    LONG,
]

cases = []
for text in SENTENCES:
    content, ids = tokenize(text)
    cases.append({
        "text": text,
        "ids": ids,
        "tokens": [vocab[i] for i in ids],
        "content_tokens": len(content),
        "embedding": [float(x) for x in embed(ids)],
    })
assert cases[-1]["content_tokens"] > MAX_LENGTH - 2, "the long sentence must exercise truncation"
assert all(UNK not in c["ids"] for c in cases[:3]), "accents must not become [UNK]"

# ------------------------------------------------------------- tokenizer.json
def special(tok):
    return {"id": VOCAB[tok], "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


tokenizer_json = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [special(t) for t in SPECIAL],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                   "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {t: {"id": t, "ids": [VOCAB[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
    },
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": VOCAB},
}
config_json = {
    "architectures": ["BertModel"], "model_type": "bert", "vocab_size": V, "hidden_size": D,
    "num_hidden_layers": L, "num_attention_heads": NH, "intermediate_size": F, "hidden_act": "gelu",
    "max_position_embeddings": P, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
}
routekit_json = {"pooling": "mean", "max_length": MAX_LENGTH, "output": "last_hidden_state", "normalize": True}
reference_json = {
    "generator": "scripts/gen_tinybert.py", "max_length": MAX_LENGTH, "dim": D, "pooling": "mean",
    "normalize": True, "cases": cases,
}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


tiny = os.path.join(OUT, "tinybert")
os.makedirs(tiny, exist_ok=True)
onnx.save(model, os.path.join(tiny, "model.onnx"))
write_json(os.path.join(tiny, "tokenizer.json"), tokenizer_json)
write_json(os.path.join(tiny, "config.json"), config_json)
write_json(os.path.join(tiny, "routekit.json"), routekit_json)
write_json(os.path.join(tiny, "reference.json"), reference_json)

# ------------------------------------------- badinputs: inputs named ids / mask
B4 = 4
bad_inits = [nh.from_array((rng.standard_normal((V, B4)) * 0.5).astype(np.float32), "emb"),
             nh.from_array(np.array([2], np.int64), "axes_2")]
bad_nodes = [
    h.make_node("Gather", ["emb", "ids"], ["e"], axis=0),
    h.make_node("Cast", ["mask"], ["mf"], to=TP.FLOAT),
    h.make_node("Unsqueeze", ["mf", "axes_2"], ["m3"]),
    h.make_node("Mul", ["e", "m3"], ["last_hidden_state"]),
]
bad = h.make_model(h.make_graph(
    bad_nodes, "badinputs",
    [h.make_tensor_value_info("ids", TP.INT64, ["batch_size", "sequence_length"]),
     h.make_tensor_value_info("mask", TP.INT64, ["batch_size", "sequence_length"])],
    [h.make_tensor_value_info("last_hidden_state", TP.FLOAT, ["batch_size", "sequence_length", B4])],
    bad_inits), opset_imports=[h.make_opsetid("", 17)], producer_name="routekit-gen_tinybert")
bad.ir_version = 8
onnx.checker.check_model(bad)
bad_dir = os.path.join(OUT, "badinputs")
os.makedirs(bad_dir, exist_ok=True)
onnx.save(bad, os.path.join(bad_dir, "model.onnx"))
write_json(os.path.join(bad_dir, "tokenizer.json"), tokenizer_json)

# ------------- int32dyn: int32 inputs, hidden size not static, no config.json
# (exercises the int32 input path and finding the dimension by a first run)
D6 = 6
emb6 = (rng.standard_normal((V, D6)) * 0.5).astype(np.float32)
i32 = h.make_model(h.make_graph(
    [h.make_node("Gather", ["emb", "input_ids"], ["e"], axis=0),
     h.make_node("Cast", ["attention_mask"], ["mf"], to=TP.FLOAT),
     h.make_node("Unsqueeze", ["mf", "axes_2"], ["m3"]),
     h.make_node("Mul", ["e", "m3"], ["last_hidden_state"])],
    "int32dyn",
    [h.make_tensor_value_info("input_ids", TP.INT32, ["batch_size", "sequence_length"]),
     h.make_tensor_value_info("attention_mask", TP.INT32, ["batch_size", "sequence_length"])],
    [h.make_tensor_value_info("last_hidden_state", TP.FLOAT, ["batch_size", "sequence_length", "hidden"])],
    [nh.from_array(emb6, "emb"), nh.from_array(np.array([2], np.int64), "axes_2")]),
    opset_imports=[h.make_opsetid("", 17)], producer_name="routekit-gen_tinybert")
i32.ir_version = 8
onnx.checker.check_model(i32)
i32_dir = os.path.join(OUT, "int32dyn")
os.makedirs(i32_dir, exist_ok=True)
onnx.save(i32, os.path.join(i32_dir, "model.onnx"))
write_json(os.path.join(i32_dir, "tokenizer.json"), tokenizer_json)
i32_cases = []
for text in SENTENCES[:3]:
    _, ids = tokenize(text)
    v = emb6[ids].astype(np.float64).mean(0)
    i32_cases.append({"text": text, "ids": ids, "embedding": [float(x) for x in v / np.linalg.norm(v)]})
write_json(os.path.join(i32_dir, "reference.json"), {"generator": "scripts/gen_tinybert.py", "max_length": 512,
                                                     "dim": D6, "cases": i32_cases})

print(f"wrote {tiny} (vocab {V}, dim {D}, {len(cases)} reference cases), {bad_dir}, {i32_dir}")
for c in cases:
    print(f"  {len(c['ids']):4d} ids  {c['text'][:60]!r}")
