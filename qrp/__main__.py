import sys

from qrp.launcher import main

sys.exit(main())
