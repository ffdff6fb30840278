import sys

from iwtui.cli import main

sys.exit(main())
