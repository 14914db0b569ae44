import sys

from qrp.cli import main

sys.exit(main())
