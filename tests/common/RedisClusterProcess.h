#pragma once

#include "tests/common/RedisProcess.h"

#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

namespace herald::test {

// A real, throw-away Redis Cluster on loopback: `masters` redis-servers with cluster mode on,
// each with `replicasPerMaster` replicas, joined by `redis-cli --cluster create` and waited for
// until every node says cluster_state:ok. A short cluster-node-timeout (1 s) makes a replica
// take over a killed master within a few seconds. Everything stops with the object.
class RedisClusterProcess {
public:
    explicit RedisClusterProcess(int masters = 3, int replicasPerMaster = 1);
    ~RedisClusterProcess();

    bool start(QString* error, int timeoutMs = 60000);
    // "redis-cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,..." with every node as a seed.
    QString url() const;
    QList<quint16> ports() const;
    // What redis-cli prints for `args` sent to the node on `port` (empty on failure).
    static QString cli(quint16 port, const QStringList& args);
    // The port of the master serving `key`'s slot now (0 when unknown), asked of a live node.
    quint16 masterOf(const QString& key) const;
    QList<quint16> masters() const;
    // SIGKILL the node on `port`.
    void kill(quint16 port);
    // Polls (keeping the event loop running) until every live node says cluster_state:ok and
    // each of the slots has a live master.
    bool waitHealthy(int timeoutMs) const;

private:
    quint16 livePort() const;
    int masters_;
    int replicas_;
    std::vector<std::unique_ptr<RedisProcess>> nodes_;
};

} // namespace herald::test
