import sys

from darkroom.cli import command

sys.exit(command())
