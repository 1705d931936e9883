"""``python -m infra.kafka start|stop|kill|status``."""

import sys

from infra import component, kafka

sys.exit(component.main(kafka))
