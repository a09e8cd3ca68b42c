#pragma once

#include <QByteArray>
#include <QString>
#include <variant>

namespace herald {

// Where Redis is and how to reach it:
//   redis://[[user]:password@]host[:port][/db]
//   rediss://[[user]:password@]host[:port][/db][?ca=FILE&cert=FILE&key=FILE&verify=none]
// IPv6 hosts in brackets. User and password may be percent-encoded ("redis://secret@host" means
// password "secret", as with redis-cli); option values are percent-decoded, so a '@' or '&' in a
// path is written %40 / %26. rediss:// is TLS: the server's certificate is checked against `ca`
// (the system's CAs without it) and the host name; `cert` + `key` send a client certificate
// (Redis's tls-auth-clients); `verify=none` turns every check off and is logged loudly.
struct RedisUrl {
    QString host;
    quint16 port = 6379;
    QByteArray password;
    QByteArray username;
    int db = 0;

    bool tls = false;
    QString caFile;   // PEM CA certificate(s); empty: the system's
    QString certFile; // PEM client certificate (chain), with keyFile
    QString keyFile;  // PEM private key, unencrypted
    bool verifyPeer = true;

    static std::variant<RedisUrl, QString> parse(const QString& url);
    // The URL with the password replaced by "***": safe for logs and status pages.
    QString redacted() const;
    // "host:port" ("[::1]:6379" for IPv6), plus "/db" when db != 0.
    QString endpoint() const;
};

} // namespace herald
