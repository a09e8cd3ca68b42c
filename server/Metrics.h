#pragma once

#include "shared/Errors.h"

#include <QByteArray>
#include <QHash>

namespace herald {

// This node's counters since start. Owned by the Node, passed by reference; the event loop is
// the only writer, so plain integers suffice.
struct Metrics {
    qint64 connectionsAccepted = 0;
    qint64 connectionsRefused = 0; // over max_connections, or failed authentication
    qint64 messagesIn = 0;         // client frames received
    qint64 published = 0;          // messages accepted from producers on this node
    qint64 busMessages = 0;        // messages that arrived from the broker
    qint64 deliveries = 0;         // frames queued to client connections
    qint64 drops = 0;              // frames not delivered: slow consumer, closing connection
    qint64 httpRequests = 0;
    QHash<ErrorCode, qint64> errors; // errors reported to clients and API callers, by code

    void countError(ErrorCode code) { ++errors[code]; }
};

// Live figures the metrics page shows next to the counters.
struct Gauges {
    qint64 connections = 0;
    qint64 users = 0;
    qint64 streams = 0;
    qint64 subscriptions = 0;
    qint64 clusterConnections = 0;
    qint64 clusterUsers = 0;
    qint64 clusterNodes = 1;
    bool brokerReady = true;
    qint64 uptimeSeconds = 0;
};

// Prometheus text exposition format 0.0.4.
QByteArray renderPrometheus(const Metrics& metrics, const Gauges& gauges, const QString& nodeId);

} // namespace herald
