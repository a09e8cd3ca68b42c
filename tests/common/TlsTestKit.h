#pragma once

#include <QByteArray>
#include <QList>
#include <QProcess>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QTemporaryDir>

// What the TLS tests need around a real herald-server: certificates made for the run with the
// openssl command, TLS and plain clients driven with deadlines, and Debian's Python as an
// independent wss:// client.
namespace herald::test {

// A root CA, an intermediate CA signed by it, and leaf certificates "one" (5 days, so the node
// warns about its expiry) and "two" (30 days) signed by the intermediate, for localhost and
// 127.0.0.1. Files: root.crt, intermediate.crt, one.crt/one.key, two.crt/two.key, and for the
// refusals encrypted.crt/encrypted.key (passphrase "secret"), expired.crt/expired.key (expired
// in 2020), garbage.txt.
class TestPki {
public:
    bool make(QString* error); // fails with a clear message if openssl is missing
    QString path(const QString& name) const { return dir_.filePath(name); }
    QList<QSslCertificate> trusted() const; // the root alone
    QSslCertificate certificate(const QString& leaf) const;
    // A client configuration that trusts the root alone.
    QSslConfiguration clientConfiguration() const;
    // Puts leaf's certificate and key at dir/tls.crt and dir/tls.key, each replaced atomically.
    bool install(const QString& leaf, const QString& dir) const;
    static bool writeLive(const QString& dir, const QString& name, const QByteArray& bytes);

private:
    bool openssl(const QStringList& args, QString* error);
    QTemporaryDir dir_;
    QString openssl_;
};

// Completes a TLS handshake as a client trusting `trusted` (empty: the system's CAs) and returns
// the node's certificate; a null certificate if the handshake failed, with `why`.
QSslCertificate tlsPeerCertificate(quint16 port, const QList<QSslCertificate>& trusted,
                                   QString* why, int timeoutMs = 20000);

// Sends `request` over plain TCP and reads until the server closes or the deadline.
struct PlainAnswer {
    QByteArray bytes;
    bool closedByServer = false;
};
PlainAnswer plainRequest(quint16 port, const QByteArray& request, int timeoutMs);

// Connections that must not get through the node's TLS handshake.
enum class BadHandshake {
    PlainHttp,      // an HTTP request: answered 400 in plain text, then closed
    UntrustingPeer, // a TLS client that does not trust the certificate and hangs up
    AbandonedHello, // a ClientHello, then the client hangs up when the node has answered it
    Garbage,        // bytes that are neither TLS nor HTTP: closed at once
    TruncatedHello, // the start of a ClientHello, then the client shuts its sending side
    StalledHello,   // the start of a ClientHello, then nothing: closed at handshake_timeout
};
// Opens `count` such connections, `parallel` at a time, from 127.0.0.1..127.0.0.8; returns how
// many ended as expected. `problem` gets the first that did not.
int failHandshakes(quint16 port, BadHandshake kind, int count, QString* problem, int parallel = 32,
                   int timeoutMs = 180000);

// Debian's /usr/bin/python3 with its ssl and websockets modules: GET /healthz over https, then
// wss:// /public, subscribe to `stream`, print the first message and exit 0. Prints HEALTHZ,
// WELCOME, SUBSCRIBED and MESSAGE lines.
class PythonClient {
public:
    ~PythonClient();
    bool start(quint16 port, const QString& caFile, const QString& stream, QString* error);
    bool waitForLine(const QByteArray& prefix, int timeoutMs);
    int waitForExit(int timeoutMs); // exit code, -1 if it did not end
    QString output();

private:
    QTemporaryDir dir_;
    QProcess process_;
    QByteArray out_;
};

} // namespace herald::test
