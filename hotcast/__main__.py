import sys

from hotcast.cli import main

sys.exit(main())
