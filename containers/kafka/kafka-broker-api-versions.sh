#!/usr/bin/env bash
# The broker probe apache/kafka ships (same path), used by compose.yaml's healthcheck.
exec java -Xmx64m -XX:TieredStopAtLevel=1 -Xshare:auto -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.yaml \
    -cp '/opt/kafka/libs/*' org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
