#include "tests/common/RedisClusterProcess.h"

#include "tests/common/NginxProcess.h" // freeLoopbackPort()

#include <QDeadlineTimer>
#include <QProcess>
#include <QTest>

namespace herald::test {

RedisClusterProcess::RedisClusterProcess(int masters, int replicasPerMaster)
    : masters_(masters)
    , replicas_(replicasPerMaster) {}

RedisClusterProcess::~RedisClusterProcess() {
    for (auto& n : nodes_)
        n->stop();
}

QString RedisClusterProcess::cli(quint16 port, const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral("redis-cli"),
            QStringList{QStringLiteral("-p"), QString::number(port)} + args);
    if (!p.waitForFinished(10000) || p.exitCode() != 0)
        return {};
    return QString::fromUtf8(p.readAllStandardOutput()).trimmed();
}

bool RedisClusterProcess::start(QString* error, int timeoutMs) {
    if (RedisProcess::binary().isEmpty()) {
        *error = QStringLiteral("redis-server not found: apt-get install redis-server");
        return false;
    }
    const int total = masters_ * (1 + replicas_);
    for (int i = 0; i < total; ++i) {
        // The cluster bus port is chosen too (Redis 7's cluster-port): port+10000 may be taken.
        auto node = std::make_unique<RedisProcess>(
            QStringList{QStringLiteral("--cluster-enabled"), QStringLiteral("yes"),
                        QStringLiteral("--cluster-config-file"), QStringLiteral("nodes.conf"),
                        QStringLiteral("--cluster-node-timeout"), QStringLiteral("1000"),
                        // A replica may take over however long ago it last heard from its master.
                        QStringLiteral("--cluster-replica-validity-factor"), QStringLiteral("0"),
                        // While one master fails over, the other masters keep serving their slots
                        // (the setting docs/operations.md recommends for Herald).
                        QStringLiteral("--cluster-require-full-coverage"), QStringLiteral("no"),
                        QStringLiteral("--cluster-port"), QString::number(freeLoopbackPort())});
        if (!node->start(error))
            return false;
        nodes_.push_back(std::move(node));
    }
    QStringList create{QStringLiteral("--cluster"), QStringLiteral("create")};
    for (const auto& n : nodes_)
        create.append(QStringLiteral("127.0.0.1:%1").arg(n->port()));
    create += {QStringLiteral("--cluster-replicas"), QString::number(replicas_),
               QStringLiteral("--cluster-yes")};
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(QStringLiteral("redis-cli"), create);
    if (!p.waitForFinished(timeoutMs) || p.exitCode() != 0) {
        *error =
            QStringLiteral("redis-cli --cluster create failed: ") + QString::fromUtf8(p.readAll());
        return false;
    }
    if (!waitHealthy(timeoutMs)) {
        *error = QStringLiteral("the Redis Cluster did not become healthy: ") +
                 cli(livePort(), {QStringLiteral("CLUSTER"), QStringLiteral("INFO")});
        return false;
    }
    return true;
}

QList<quint16> RedisClusterProcess::ports() const {
    QList<quint16> out;
    for (const auto& n : nodes_)
        out.append(n->port());
    return out;
}

QString RedisClusterProcess::url() const {
    QStringList seeds;
    for (const quint16 port : ports())
        seeds.append(QStringLiteral("127.0.0.1:%1").arg(port));
    return QStringLiteral("redis-cluster://") + seeds.join(QLatin1Char(','));
}

quint16 RedisClusterProcess::livePort() const {
    for (const auto& n : nodes_)
        if (n->isRunning())
            return n->port();
    return 0;
}

void RedisClusterProcess::kill(quint16 port) {
    for (auto& n : nodes_)
        if (n->port() == port)
            n->stop();
}

// CLUSTER NODES lines: "<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots>"
static QList<QStringList> nodeLines(quint16 port) {
    QList<QStringList> out;
    const QString text =
        RedisClusterProcess::cli(port, {QStringLiteral("CLUSTER"), QStringLiteral("NODES")});
    for (const QString& line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts))
        out.append(line.split(QLatin1Char(' '), Qt::SkipEmptyParts));
    return out;
}

QList<quint16> RedisClusterProcess::masters() const {
    QList<quint16> out;
    for (const QStringList& f : nodeLines(livePort()))
        if (f.size() > 8 && f[2].contains(QLatin1String("master")) &&
            !f[2].contains(QLatin1String("fail")))
            out.append(
                f[1].section(QLatin1Char(':'), 1).section(QLatin1Char('@'), 0, 0).toUShort());
    return out;
}

quint16 RedisClusterProcess::masterOf(const QString& key) const {
    const int slot =
        cli(livePort(), {QStringLiteral("CLUSTER"), QStringLiteral("KEYSLOT"), key}).toInt();
    for (const QStringList& f : nodeLines(livePort())) {
        if (f.size() < 9 || !f[2].contains(QLatin1String("master")) ||
            f[2].contains(QLatin1String("fail")))
            continue;
        for (qsizetype i = 8; i < f.size(); ++i) {
            const QStringList range = f[i].split(QLatin1Char('-'));
            const int first = range.first().toInt();
            const int last = range.last().toInt();
            if (!f[i].startsWith(QLatin1Char('[')) && slot >= first && slot <= last)
                return f[1].section(QLatin1Char(':'), 1).section(QLatin1Char('@'), 0, 0).toUShort();
        }
    }
    return 0;
}

bool RedisClusterProcess::waitHealthy(int timeoutMs) const {
    const QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        bool ok = true;
        for (const auto& n : nodes_) {
            if (!n->isRunning())
                continue;
            const QString info =
                cli(n->port(), {QStringLiteral("CLUSTER"), QStringLiteral("INFO")});
            ok = ok && info.contains(QLatin1String("cluster_state:ok")) &&
                 info.contains(QLatin1String("cluster_slots_ok:16384"));
            // A replica that has not synced yet cannot replace its master.
            const QString replication =
                cli(n->port(), {QStringLiteral("INFO"), QStringLiteral("replication")});
            if (replication.contains(QLatin1String("role:slave")))
                ok = ok && replication.contains(QLatin1String("master_link_status:up"));
        }
        if (ok && masters().size() == masters_)
            return true;
        QTest::qWait(100);
    }
    return false;
}

} // namespace herald::test
