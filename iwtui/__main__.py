import sys

from iwtui.cli import main

if __name__ == "__main__":  # a spawned helper process imports this module: do not run there
    sys.exit(main())
