#pragma once

// Helpers shared by the console tests: comparing the console's models with a node's own
// /api/cluster, and choosing a fixed free port so a server can be restarted on it.

#include "console/app/NodesModel.h"
#include "tests/common/ServerProcess.h"

#include <QJsonArray>
#include <QTcpServer>

namespace herald::test {

inline quint16 freePort() {
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort(); // closed when probe goes; a tiny race the tests accept
}

// Empty when the model's totals and rows equal what `server` answers on /api/cluster; else what
// differs.
inline QString differenceFromApi(const console::NodesModel& model, const ServerProcess& server,
                                 const QByteArray& token) {
    const HttpResult r = httpGet(server.httpUrl(QStringLiteral("/api/cluster")), token);
    if (r.status != 200)
        return QStringLiteral("/api/cluster answered %1").arg(r.status);
    const QJsonObject api = r.json();
    const QJsonObject totals = api.value(QLatin1String("totals")).toObject();
    QStringList diffs;
    if (totals.value(QLatin1String("connections")).toInteger() != model.totalConnections())
        diffs << QStringLiteral("connections api=%1 console=%2")
                     .arg(totals.value(QLatin1String("connections")).toInteger())
                     .arg(model.totalConnections());
    if (totals.value(QLatin1String("users")).toInteger() != model.totalUsers())
        diffs << QStringLiteral("users api=%1 console=%2")
                     .arg(totals.value(QLatin1String("users")).toInteger())
                     .arg(model.totalUsers());
    const QJsonArray nodes = api.value(QLatin1String("nodes")).toArray();
    if (nodes.size() != model.liveNodes())
        diffs << QStringLiteral("nodes api=%1 console=%2").arg(nodes.size()).arg(model.liveNodes());
    for (const QJsonValue& v : nodes) {
        const cluster::NodeInfo n = cluster::nodeFromJson(v.toObject());
        const cluster::NodeInfo* row = model.liveNode(n.id);
        if (!row) {
            diffs << QStringLiteral("node %1 missing").arg(n.id);
            continue;
        }
        if (row->connections != n.connections || row->users != n.users ||
            row->address != n.address || row->version != n.version || row->state != n.state ||
            row->subscriptions != n.subscriptions)
            diffs << QStringLiteral("node %1 differs: api conns=%2 users=%3 subs=%4 state=%5; "
                                    "console conns=%6 users=%7 subs=%8 state=%9")
                         .arg(n.id)
                         .arg(n.connections)
                         .arg(n.users)
                         .arg(n.subscriptions)
                         .arg(cluster::nodeStateName(n.state))
                         .arg(row->connections)
                         .arg(row->users)
                         .arg(row->subscriptions)
                         .arg(cluster::nodeStateName(row->state));
    }
    return diffs.join(QStringLiteral("; "));
}

} // namespace herald::test
