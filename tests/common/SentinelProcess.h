#pragma once

#include <QByteArray>
#include <QHash>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <memory>

namespace herald::test {

// A real Redis Sentinel child (redis-server <conf> --sentinel) on a free loopback port, watching
// one master. Its configuration file is written into a temporary directory (Sentinel rewrites
// it as it learns). Short timings so a failover takes seconds: down-after-milliseconds and
// failover-timeout are the constructor's. stop() is SIGKILL.
class SentinelProcess {
public:
    SentinelProcess(QString masterName, quint16 masterPort, int quorum = 2, int downAfterMs = 1000,
                    int failoverTimeoutMs = 3000);
    ~SentinelProcess();
    SentinelProcess(const SentinelProcess&) = delete;
    SentinelProcess& operator=(const SentinelProcess&) = delete;

    // False with a readable message when redis-server is missing or the Sentinel does not
    // answer PING in time.
    bool start(QString* error, int timeoutMs = 15000);
    void stop();
    bool isRunning() const;
    quint16 port() const { return port_; }
    QString output() const;

    // What Sentinel reports about its master (SENTINEL master NAME) as field -> value, e.g.
    // "num-other-sentinels", "num-slaves", "ip", "port", "flags". Empty when it does not answer.
    QHash<QString, QString> masterState() const;

    // Runs redis-cli against 127.0.0.1:port and returns its output lines (empty on failure).
    // Blocking with a deadline of a few seconds: for tests only.
    static QStringList cli(quint16 port, const QStringList& args);
    // A field of INFO's output ("role", "master_repl_offset", ...); empty when absent.
    static QString info(quint16 port, const QString& section, const QString& field);

private:
    bool launch(quint16 port, QString* error, int timeoutMs);

    QString masterName_;
    quint16 masterPort_;
    int quorum_;
    int downAfterMs_;
    int failoverTimeoutMs_;
    QTemporaryDir dir_;
    std::unique_ptr<QProcess> process_;
    quint16 port_ = 0;
    mutable QByteArray captured_;
};

} // namespace herald::test
