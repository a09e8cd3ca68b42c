#pragma once

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <memory>

namespace herald::test {

// A real, throw-away redis-server child on a free loopback port, without persistence.
// start() picks the port; stop() kills it (an abrupt outage); restart() brings it back on the
// same port. Waits are polls with deadlines that keep the caller's event loop running.
class RedisProcess {
public:
    // extraArgs go to redis-server as given, e.g. {"--requirepass", "s3cret"}.
    explicit RedisProcess(QStringList extraArgs = {});
    ~RedisProcess();
    RedisProcess(const RedisProcess&) = delete;
    RedisProcess& operator=(const RedisProcess&) = delete;

    // False with a readable message when redis-server is missing or does not answer PING.
    bool start(QString* error, int timeoutMs = 15000);
    bool restart(QString* error, int timeoutMs = 15000);
    void stop(); // SIGKILL and wait
    // SIGSTOP / SIGCONT: a hung Redis (connections stay open, nothing is answered).
    void freeze();
    void thaw();
    bool isRunning() const;

    quint16 port() const { return port_; }
    // "redis://127.0.0.1:<port>", with ":<password>@" when given.
    QString url(const QByteArray& password = {}) const;
    QString output() const; // what redis-server printed, for failure messages

    static QString binary(); // empty when redis-server is not installed

private:
    bool launch(quint16 port, QString* error, int timeoutMs);
    bool answersPing(int timeoutMs) const;

    QStringList extraArgs_;
    QTemporaryDir dir_;
    std::unique_ptr<QProcess> process_;
    quint16 port_ = 0;
    mutable QByteArray captured_;
};

} // namespace herald::test
