import sys

from cgw.cli import main

sys.exit(main())
