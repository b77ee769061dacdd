"""The `quarterdeck` command: every Django management command, plus Quarterdeck's own."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quarterdeck.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "quarterdeck"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
