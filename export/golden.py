"""golden.json: texts with their token ids, attention masks and reference embeddings.

The texts cover many languages and scripts plus the edge cases a tokenizer port gets wrong
(empty and blank strings, emoji, combining marks, full-width forms, over-long text). The
Android app's tests and the parity checks compare themselves against this file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from distill.ner import WORD_RULE, entities, word_tags

GOLDEN_TEXTS: list[tuple[str, str]] = [
    ("en", "Open the file in a new window."),
    ("en", "The quick brown fox jumps over the lazy dog."),
    ("fr", "Impossible d'ouvrir le fichier « rapport.pdf »."),
    ("fr", "Où est la gare ? Je voudrais un billet pour Marseille."),
    ("de", "Die Einstellungen wurden erfolgreich gespeichert."),
    ("de", "Straße, Größe, Übermaß — äußerst schwierig."),
    ("es", "¿Dónde está la biblioteca? ¡Muchas gracias!"),
    ("it", "Il dispositivo non è collegato alla rete."),
    ("pt", "Não foi possível conectar ao servidor."),
    ("nl", "Het bestand kon niet worden opgeslagen."),
    ("pl", "Zażółć gęślą jaźń."),
    ("tr", "İstanbul'da hava bugün çok güzel."),
    ("ru", "Не удалось открыть файл."),
    ("uk", "Ґрунтовна їжа та щоденні справи."),
    ("el", "Το αρχείο δεν βρέθηκε."),
    ("ar", "لا يمكن فتح الملف."),
    ("he", "הקובץ לא נמצא."),
    ("fa", "فایل ذخیره شد."),
    ("hi", "फ़ाइल खोली नहीं जा सकी।"),
    ("bn", "ফাইলটি খোলা যায়নি।"),
    ("ta", "கோப்பைத் திறக்க முடியவில்லை."),
    ("th", "ไม่สามารถเปิดไฟล์ได้"),
    ("ka", "ფაილის გახსნა ვერ მოხერხდა."),
    ("hy", "Ֆայլը հնարավոր չէ բացել:"),
    ("zh", "无法打开文件。"),
    ("zh", "這是一個繁體中文的句子。"),
    ("ja", "ファイルを開けませんでした。"),
    ("ko", "파일을 열 수 없습니다."),
    ("vi", "Không thể mở tệp tin."),
    ("mixed", "Hello 世界, Привет мир, مرحبا!"),
    ("edge", ""),
    ("edge", "   "),
    ("edge", "a"),
    ("edge", "😀👍🏽 🇫🇷 emoji ❤️"),
    ("edge", "e\u0301cole (combining accent) vs école"),
    ("edge", "ＦＵＬＬ－ＷＩＤＴＨ　ｔｅｘｔ １２３"),
    ("edge", "Tabs\tand\nnewlines\r\nmixed   spaces"),
    ("edge", "3.14159 + 2,718 = 5.86; user@example.com https://example.org/a?b=c"),
    ("edge", "<s> </s> <pad> <unk> [CLS] [SEP]"),
    ("edge", " ".join(["Long text that goes well past the maximum sequence length."] * 60)),
]


def golden_record(texts: Sequence[tuple[str, str]], prefix: str, ids: Sequence[Sequence[int]],
                  embeddings: np.ndarray, post_processed: np.ndarray | None = None) -> dict:
    """`embedding` is the model's output; `post_processed`, for a calibrated bundle, what
    `post_process.json` makes of it."""
    def vector(v: np.ndarray) -> list[float]:
        return [round(float(x), 7) for x in v]

    items = [{"lang": lang, "text": text, "ids": list(x), "attention_mask": [1] * len(x),
              "embedding": vector(emb)}
             for (lang, text), x, emb in zip(texts, ids, embeddings, strict=True)]
    if post_processed is not None:
        for item, final in zip(items, post_processed, strict=True):
            item["post_processed"] = vector(final)
    return {"text_prefix": prefix, "items": items}


# NER: sentences with people, places and organisations in the training languages, the unseen
# ones (de, ru) and others, plus the edge cases of word splitting
GOLDEN_NER_TEXTS: list[tuple[str, str]] = [
    ("en", "Angela Merkel met Emmanuel Macron in Paris on Monday."),
    ("en", "Microsoft opened a new office in Nairobi, Kenya."),
    ("en", "The United Nations said that Barack Obama will visit Tokyo."),
    ("pt", "O presidente Lula visitou a Petrobras no Rio de Janeiro."),
    ("sv", "Greta Thunberg talade i Stockholm om Volvo och Ikea."),
    ("zh", "习近平在北京会见了联合国秘书长古特雷斯。"),
    ("de", "Die Deutsche Bahn fährt von Berlin nach München."),
    ("ru", "Владимир Путин встретился с представителями Газпрома в Москве."),
    ("fr", "Marie Curie a travaillé à l'Université de Paris."),
    ("es", "Gabriel García Márquez nació en Aracataca, Colombia."),
    ("edge", ""),
    ("edge", "no entities here at all"),
    ("edge", "e\u0301cole 😀👍🏽 New York"),
    ("edge", " ".join(["Paris is in France and Berlin is in Germany."] * 20)),
]


def golden_ner_record(texts: Sequence[tuple[str, str]], words: Sequence[Sequence[str]],
                      ids: Sequence[Sequence[int]], first: Sequence[Sequence[int]],
                      logits: Sequence[np.ndarray], labels: Sequence[str]) -> dict:
    items = []
    for (lang, text), w, x, f, out in zip(texts, words, ids, first, logits, strict=True):
        tags = word_tags(out, f, labels)
        items.append({
            "lang": lang, "text": text, "words": list(w), "ids": list(x),
            "attention_mask": [1] * len(x), "first_token": list(f), "tags": tags,
            "entities": [{"type": t, "start": a, "end": b}
                         for a, b, t in sorted(entities(tags))],
            "word_logits": [[round(float(v), 5) for v in out[p]] if p >= 0 else None
                            for p in f]})
    return {"word_rule": WORD_RULE, "labels": list(labels), "items": items}
