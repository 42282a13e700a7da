"""`python -m personseg`: the same as the `personseg` command."""

import sys

from .cli import main

sys.exit(main())
