import sys

from harness.reference.fulfillment.cli import main

sys.exit(main())
