"""``python -m infra.postgres start|stop|kill|status``."""

import sys

from infra import component, postgres

sys.exit(component.main(postgres))
