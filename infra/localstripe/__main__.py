"""``python -m infra.localstripe start|stop|kill|status``."""

import sys

from infra import component, localstripe

sys.exit(component.main(localstripe))
