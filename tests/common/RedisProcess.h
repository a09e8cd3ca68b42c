#pragma once

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <memory>

namespace herald::test {

// How a RedisProcess speaks: plain TCP, TLS only (--port 0 --tls-port), or TLS that also
// requires a client certificate (--tls-auth-clients yes).
enum class RedisTls { Off, On, ClientCertificate };

// A real, throw-away redis-server child on a free loopback port, without persistence.
// start() picks the port; stop() kills it (an abrupt outage); restart() brings it back on the
// same port. Waits are polls with deadlines that keep the caller's event loop running.
//
// In a TLS mode the first start() makes, with the openssl command, a CA, a server certificate
// for "localhost" and 127.0.0.1 (not 127.0.0.2: Redis listens there too, for name-mismatch
// tests), a client certificate and an unrelated CA, all in the temporary directory.
class RedisProcess {
public:
    // extraArgs go to redis-server as given, e.g. {"--requirepass", "s3cret"}.
    explicit RedisProcess(QStringList extraArgs = {}, RedisTls tls = RedisTls::Off);
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
    // "redis://127.0.0.1:<port>", with ":<password>@" when given. In a TLS mode
    // "rediss://127.0.0.1:<port>?ca=<CA>", plus the client certificate when Redis requires one.
    QString url(const QByteArray& password = {}) const;
    RedisTls tls() const { return tls_; }
    // The TLS files (absolute PEM paths; empty before the first TLS start()).
    QString caFile() const;
    QString clientCertFile() const;
    QString clientKeyFile() const;
    QString otherCaFile() const; // a CA that signed nothing Redis has
    QString output() const;      // what redis-server printed, for failure messages

    static QString binary(); // empty when redis-server is not installed

private:
    bool launch(quint16 port, QString* error, int timeoutMs);
    bool answersPing(int timeoutMs) const;
    bool makeCertificates(QString* error);
    QString file(const char* name) const;

    QStringList extraArgs_;
    RedisTls tls_ = RedisTls::Off;
    bool haveCertificates_ = false;
    QTemporaryDir dir_;
    std::unique_ptr<QProcess> process_;
    quint16 port_ = 0;
    mutable QByteArray captured_;
};

} // namespace herald::test
