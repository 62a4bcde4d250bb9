"""``python -m abidiff``."""

import sys

try:
    from abidiff.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python was still importing us: no traceback
    sys.stderr.write("abidiff: interrupted\n")
    raise SystemExit(130) from None

if __name__ == "__main__":
    raise SystemExit(main())
