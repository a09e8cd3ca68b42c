#pragma once

#include "shared/Errors.h"

#include <QByteArray>
#include <QHash>
#include <array>
#include <vector>

namespace herald {

// Why a WebSocket handshake was not accepted.
enum class RefusalReason {
    BadHandshake,       // not a valid RFC 6455 upgrade (HTTP 400/426)
    Origin,             // a browser page from an origin not allowed (HTTP 403)
    Unauthorized,       // missing or bad credential (close 4001)
    Full,               // max_connections reached (close 1013)
    Draining,           // node draining (close 1012)
    AddressConnections, // ip_max_connections reached (close 4029)
    AddressRate,        // ip_connect_rate exceeded (close 4029)
    AuthBackoff,        // address backing off after failed authentications (close 4029)
    Count
};
const char* refusalReasonName(RefusalReason reason);

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
    qint64 historyReplayed = 0;      // messages replayed from history to clients that resumed
    qint64 resumesIncomplete = 0;    // resumes answered recovered:false (the position was gone)
    qint64 gapsFilled = 0;           // messages this node missed on the bus and took from history
    qint64 gapsUnfilled = 0;         // gaps history could not fill (older messages already gone)
    qint64 tlsHandshakeFailures = 0; // failed, timed out, or plain HTTP on the TLS port
    qint64 tlsCertificateExpiry = 0; // Unix time the certificate in use expires; 0: no TLS
    QHash<ErrorCode, qint64> errors; // errors reported to clients and API callers, by code
    std::array<qint64, static_cast<int>(RefusalReason::Count)> refusals{};

    void countError(ErrorCode code) { ++errors[code]; }
    void countRefusal(RefusalReason reason) { ++refusals[static_cast<int>(reason)]; }
};

// Live figures the metrics page shows next to the counters.
struct Gauges {
    qint64 connections = 0; // clients only
    qint64 adminConnections = 0;
    qint64 users = 0;
    qint64 streams = 0;
    qint64 subscriptions = 0;
    qint64 clusterConnections = 0;
    qint64 clusterUsers = 0;
    qint64 clusterNodes = 1;
    bool brokerReady = true;
    qint64 uptimeSeconds = 0;
    std::vector<qint64> workerConnections; // per worker thread, admin connections included
};

// Prometheus text exposition format 0.0.4.
QByteArray renderPrometheus(const Metrics& metrics, const Gauges& gauges, const QString& nodeId);

} // namespace herald
