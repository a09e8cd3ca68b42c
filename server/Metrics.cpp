#include "server/Metrics.h"

#include "shared/Version.h"

namespace herald {

const char* refusalReasonName(RefusalReason reason) {
    switch (reason) {
    case RefusalReason::BadHandshake:
        return "bad_handshake";
    case RefusalReason::Origin:
        return "origin";
    case RefusalReason::Unauthorized:
        return "unauthorized";
    case RefusalReason::Full:
        return "full";
    case RefusalReason::Draining:
        return "draining";
    case RefusalReason::AddressConnections:
        return "address_connections";
    case RefusalReason::AddressRate:
        return "address_rate";
    case RefusalReason::AuthBackoff:
        return "auth_backoff";
    case RefusalReason::Count:
        break;
    }
    return "unknown";
}
namespace {

void family(QByteArray& out, const char* name, const char* type, const char* help) {
    out += QByteArrayLiteral("# HELP ") + name + ' ' + help + '\n';
    out += QByteArrayLiteral("# TYPE ") + name + ' ' + type + '\n';
}

void sample(QByteArray& out, const char* name, qint64 value, const QByteArray& labels = {}) {
    out += name;
    if (!labels.isEmpty())
        out += '{' + labels + '}';
    out += ' ' + QByteArray::number(value) + '\n';
}

void single(QByteArray& out, const char* name, const char* type, const char* help, qint64 value) {
    family(out, name, type, help);
    sample(out, name, value);
}

} // namespace

QByteArray renderPrometheus(const Metrics& m, const Gauges& g, const QString& nodeId) {
    QByteArray out;
    out.reserve(4096);
    family(out, "herald_info", "gauge", "Build and node information.");
    sample(out, "herald_info", 1,
           "version=\"" + QByteArray(kVersion) + "\",node=\"" + nodeId.toUtf8() + '"');
    single(out, "herald_uptime_seconds", "gauge", "Seconds since this node started.",
           g.uptimeSeconds);
    single(out, "herald_connections", "gauge",
           "Open client WebSocket connections on this node (admin connections not counted).",
           g.connections);
    single(out, "herald_admin_connections", "gauge",
           "Open admin connections (consoles, heraldctl tail) on this node.", g.adminConnections);
    single(out, "herald_users", "gauge", "Unique authenticated users connected to this node.",
           g.users);
    single(out, "herald_streams", "gauge", "Streams with at least one subscriber on this node.",
           g.streams);
    single(out, "herald_subscriptions", "gauge", "Stream subscriptions on this node.",
           g.subscriptions);
    single(out, "herald_cluster_connections", "gauge", "Connections across live nodes.",
           g.clusterConnections);
    single(out, "herald_cluster_users", "gauge", "Unique users across live nodes.", g.clusterUsers);
    single(out, "herald_cluster_nodes", "gauge", "Live nodes in the cluster.", g.clusterNodes);
    single(out, "herald_broker_ready", "gauge", "1 when the broker reaches the cluster.",
           g.brokerReady ? 1 : 0);
    if (!g.workerConnections.empty()) {
        family(out, "herald_worker_connections", "gauge",
               "Open connections (admin connections included) per worker thread.");
        for (size_t i = 0; i < g.workerConnections.size(); ++i)
            sample(out, "herald_worker_connections", g.workerConnections[i],
                   "worker=\"" + QByteArray::number(qulonglong(i)) + '"');
    }
    single(out, "herald_connections_accepted_total", "counter", "WebSocket connections accepted.",
           m.connectionsAccepted);
    single(out, "herald_connections_refused_total", "counter",
           "WebSocket connections accepted then closed at once (see herald_ws_refusals_total).",
           m.connectionsRefused);
    single(out, "herald_messages_in_total", "counter", "Frames received from clients.",
           m.messagesIn);
    single(out, "herald_messages_published_total", "counter",
           "Messages accepted from producers on this node.", m.published);
    single(out, "herald_bus_messages_total", "counter", "Messages received from the broker.",
           m.busMessages);
    single(out, "herald_deliveries_total", "counter", "Frames queued to client connections.",
           m.deliveries);
    single(out, "herald_drops_total", "counter", "Frames dropped (slow or closing connections).",
           m.drops);
    single(out, "herald_http_requests_total", "counter", "HTTP requests served.", m.httpRequests);
    single(out, "herald_history_replayed_total", "counter",
           "Messages replayed from history to clients that resumed with since.", m.historyReplayed);
    single(out, "herald_resumes_incomplete_total", "counter",
           "Resumes answered recovered:false (older messages were no longer kept).",
           m.resumesIncomplete);
    single(out, "herald_gaps_filled_total", "counter",
           "Messages this node missed on the bus and delivered from history instead.",
           m.gapsFilled);
    single(out, "herald_gaps_unfilled_total", "counter",
           "Gaps in a stream that history could no longer fill.", m.gapsUnfilled);
    if (m.tlsCertificateExpiry > 0) {
        single(out, "herald_tls_handshake_failures_total", "counter",
               "TLS handshakes that failed or timed out (plain HTTP on the TLS port included).",
               m.tlsHandshakeFailures);
        single(out, "herald_tls_certificate_expiry_seconds", "gauge",
               "Unix time the certificate in use expires.", m.tlsCertificateExpiry);
    }
    family(out, "herald_ws_refusals_total", "counter",
           "WebSocket handshakes not accepted, by reason.");
    for (int r = 0; r < static_cast<int>(RefusalReason::Count); ++r)
        sample(out, "herald_ws_refusals_total", m.refusals[r],
               "reason=\"" + QByteArray(refusalReasonName(static_cast<RefusalReason>(r))) + '"');
    family(out, "herald_errors_total", "counter", "Errors reported to clients and API callers.");
    for (ErrorCode code : allErrorCodes())
        sample(out, "herald_errors_total", m.errors.value(code),
               "code=\"" + errorCodeName(code).toLatin1() + '"');
    return out;
}

} // namespace herald
