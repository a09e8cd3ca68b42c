#include "tests/common/SentinelProcess.h"

#include "tests/common/RedisProcess.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QHash>
#include <QHostAddress>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTest>

namespace herald::test {
namespace {

quint16 freeLoopbackPort() {
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort(); // closed on return; the Sentinel takes it a moment later
}

} // namespace

SentinelProcess::SentinelProcess(QString masterName, quint16 masterPort, int quorum,
                                 int downAfterMs, int failoverTimeoutMs)
    : masterName_(std::move(masterName))
    , masterPort_(masterPort)
    , quorum_(quorum)
    , downAfterMs_(downAfterMs)
    , failoverTimeoutMs_(failoverTimeoutMs) {}

SentinelProcess::~SentinelProcess() {
    stop();
}

bool SentinelProcess::isRunning() const {
    return process_ && process_->state() != QProcess::NotRunning;
}

QString SentinelProcess::output() const {
    if (process_)
        captured_ += process_->readAll();
    return QString::fromLocal8Bit(captured_);
}

bool SentinelProcess::start(QString* error, int timeoutMs) {
    if (RedisProcess::binary().isEmpty()) {
        *error = QStringLiteral("redis-server not found (Sentinel is redis-server --sentinel): "
                                "apt-get install redis-server");
        return false;
    }
    if (QStandardPaths::findExecutable(QStringLiteral("redis-cli")).isEmpty()) {
        *error = QStringLiteral("redis-cli not found: apt-get install redis-tools");
        return false;
    }
    QString last;
    for (int attempt = 0; attempt < 5; ++attempt) {
        const quint16 port = freeLoopbackPort();
        if (port != 0 && launch(port, &last, timeoutMs))
            return true;
    }
    *error = QStringLiteral("redis-sentinel did not start: ") + last;
    return false;
}

bool SentinelProcess::launch(quint16 port, QString* error, int timeoutMs) {
    stop();
    port_ = port;
    captured_.clear();
    const QString conf = dir_.filePath(QStringLiteral("sentinel-%1.conf").arg(port));
    QFile file(conf);
    const QByteArray name = masterName_.toUtf8();
    const QByteArray text =
        QStringLiteral("port %1\nbind 127.0.0.1\ndir %2\n").arg(port).arg(dir_.path()).toUtf8() +
        "sentinel monitor " + name + " 127.0.0.1 " + QByteArray::number(masterPort_) + ' ' +
        QByteArray::number(quorum_) + "\nsentinel down-after-milliseconds " + name + ' ' +
        QByteArray::number(downAfterMs_) + "\nsentinel failover-timeout " + name + ' ' +
        QByteArray::number(failoverTimeoutMs_) + "\nsentinel parallel-syncs " + name + " 1\n";
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size()) {
        *error = QStringLiteral("cannot write %1").arg(conf);
        return false;
    }
    file.close();
    process_ = std::make_unique<QProcess>();
    process_->setProcessChannelMode(QProcess::MergedChannels);
    process_->start(RedisProcess::binary(), {conf, QStringLiteral("--sentinel")});
    if (!process_->waitForStarted(5000)) {
        *error = QStringLiteral("cannot run %1: %2")
                     .arg(RedisProcess::binary(), process_->errorString());
        return false;
    }
    const QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        if (!isRunning()) {
            *error = QStringLiteral("redis-sentinel exited: ") + output();
            return false;
        }
        if (cli(port, {QStringLiteral("PING")}).value(0) == QLatin1String("PONG"))
            return true;
        QTest::qWait(50);
    }
    *error =
        QStringLiteral("redis-sentinel did not answer PING on port %1: %2").arg(port).arg(output());
    stop();
    return false;
}

void SentinelProcess::stop() {
    if (!process_)
        return;
    if (isRunning()) {
        process_->kill();
        process_->waitForFinished(5000);
    }
    captured_ += process_->readAll();
}

QHash<QString, QString> SentinelProcess::masterState() const {
    const QStringList lines =
        cli(port_, {QStringLiteral("SENTINEL"), QStringLiteral("master"), masterName_});
    QHash<QString, QString> out;
    for (qsizetype i = 0; i + 1 < lines.size(); i += 2)
        out.insert(lines[i], lines[i + 1]);
    return out;
}

QStringList SentinelProcess::cli(quint16 port, const QStringList& args) {
    QProcess run;
    run.start(QStandardPaths::findExecutable(QStringLiteral("redis-cli")),
              QStringList{QStringLiteral("-h"), QStringLiteral("127.0.0.1"), QStringLiteral("-p"),
                          QString::number(port)} +
                  args);
    if (!run.waitForFinished(5000) || run.exitCode() != 0)
        return {};
    return QString::fromUtf8(run.readAllStandardOutput())
        .split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

QString SentinelProcess::info(quint16 port, const QString& section, const QString& field) {
    for (const QString& line : cli(port, {QStringLiteral("INFO"), section}))
        if (line.startsWith(field + QLatin1Char(':')))
            return line.mid(field.size() + 1).trimmed();
    return {};
}

} // namespace herald::test
