#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QProcess>
#include <QSslCertificate>
#include <QStringList>
#include <QUrl>
#include <memory>

namespace herald::test {

// A real herald-server child process on a free loopback port (--listen 127.0.0.1:0; the bound
// port and scheme are read from its first stdout line). Stopped with SIGTERM, then killed, on
// destruction. A node started with tls_cert speaks https/wss: give it the CA to trust first.
class ServerProcess {
public:
    explicit ServerProcess(QStringList extraArgs = {}, QStringList extraEnv = {});
    ~ServerProcess();

    // The CA certificates that the readiness check trusts when the node speaks TLS.
    void trust(QList<QSslCertificate> authorities) { trusted_ = std::move(authorities); }

    // Starts and waits (poll with deadline) until /readyz answers; false with a message on failure.
    bool start(QString* error, int timeoutMs = 20000);
    // SIGTERM and wait for exit; returns the exit code (-1 if it had to be killed).
    int stop(int timeoutMs = 10000);
    void kill();

    quint16 port() const { return port_; }
    bool isTls() const { return tls_; }
    QUrl httpUrl(const QString& path) const;
    QUrl wsUrl(const QString& pathAndQuery) const;
    QString output() const; // stdout + stderr so far, for failure messages
    QProcess& process() { return *process_; }

    static QString binary(const QString& name); // $HERALD_BIN_DIR/name
    // Resident memory of a process in kB (from /proc), -1 when unknown.
    static qint64 rssKb(qint64 pid);

private:
    QStringList args_;
    QStringList env_;
    std::unique_ptr<QProcess> process_;
    quint16 port_ = 0;
    bool tls_ = false;
    QList<QSslCertificate> trusted_;
    mutable QByteArray captured_;
};

struct HttpResult {
    int status = 0; // 0: no response
    QByteArray body;
    QJsonObject json() const;
};

// Blocking-with-deadline HTTP helpers for tests (run a local event loop). For https, `trusted`
// are the only CA certificates accepted (none given: the system's).
HttpResult httpGet(const QUrl& url, const QByteArray& bearer = {}, int timeoutMs = 10000,
                   const QList<QSslCertificate>& trusted = {});
HttpResult httpPost(const QUrl& url, const QByteArray& body, const QByteArray& bearer = {},
                    int timeoutMs = 10000, const QList<QSslCertificate>& trusted = {});
HttpResult httpDelete(const QUrl& url, const QByteArray& bearer = {}, int timeoutMs = 10000);

// Whether `node`'s /api/cluster totals are exactly these (asked with an API token).
bool clusterTotalsAre(ServerProcess& node, const QByteArray& apiToken, qint64 connections,
                      qint64 users, qint64 nodes);

} // namespace herald::test
