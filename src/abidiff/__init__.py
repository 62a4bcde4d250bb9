"""abidiff: did the C ABI of CPython break between two builds, and how?"""

__version__ = "0.1.0"
