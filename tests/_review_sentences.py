"""Twelve short product reviews shared by the text tests (6 positive, 6 negative)."""

EXTRA_REASON = 'needs the optional text extra: pip install "sk_mtl[text]"'
POSITIVE = [
    "I loved this phone, it works great.",
    "Excellent screen and a battery that lasts forever.",
    "Fantastic value, I am very happy with it.",
    "The camera is superb and the sound is clear.",
    "Wonderful service, highly recommended.",
    "Fast, reliable and beautifully made.",
]
NEGATIVE = [
    "I hated this phone, it is a waste of money.",
    "The screen cracked and the battery dies in an hour.",
    "Terrible value, I want a refund.",
    "The camera is blurry and the sound is awful.",
    "Rude service, never again.",
    "Slow, buggy and badly made.",
]
