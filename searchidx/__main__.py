"""The ``searchidx`` command (also ``python -m searchidx``). Ctrl-C while the command
is still loading its modules ends it as Ctrl-C does later: "Aborted!", exit status 1,
no traceback."""

import sys


def main() -> None:
    """Entry point of the ``searchidx`` console script."""
    try:
        from searchidx.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    run()


if __name__ == "__main__":
    main()
